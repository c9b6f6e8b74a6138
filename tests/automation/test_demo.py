"""The demo loader sets automation up through the owner's services."""

import random

from kefu.automation.data.default_library import SCRIPTS
from kefu.automation.models import AutomationSettings, BusinessHours, KeywordRule, Script


def test_demo_loader_sets_up_automation(shop, owner):

    from kefu.automation.demo import load

    load(shop=shop, rng=random.Random(1))
    assert Script.objects.filter(shop=shop).count() == len(SCRIPTS)
    assert AutomationSettings.objects.get(shop=shop).welcome_enabled
    assert BusinessHours.objects.filter(shop=shop).count() == 5
    assert KeywordRule.objects.filter(shop=shop, version=1, is_active=True).count() == 5
