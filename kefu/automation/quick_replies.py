"""An agent's personal quick replies: short saved texts for the reply box."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.accounts.scoping import shop_of
from kefu.automation.models import QuickReply, ScriptLanguage
from kefu.automation.placeholders import check_template
from kefu.automation.saved_texts import guard_saved_texts


def _check_quick_reply(title: str, body: str, language: str) -> None:
    if not title.strip() or len(title.strip()) > 80:
        raise ValidationError(_("a title is 1-80 characters"), code="title")
    if not body.strip() or len(body.strip()) > 4000:
        raise ValidationError(_("a quick reply is 1-4000 characters"), code="body")
    if language and language not in ScriptLanguage.values:
        raise ValidationError(_("unknown language"), code="language")
    check_template(body)


def create_quick_reply(*, actor: User, title: str, body: str, language: str = "") -> QuickReply:
    shop = shop_of(actor)
    _check_quick_reply(title, body, language)
    guard_saved_texts(actor=actor, texts=[(title, body)], source="quick_reply")
    return QuickReply.objects.create(
        shop=shop, owner=actor, title=title.strip(), body=body.strip(), language=language
    )


def update_quick_reply(
    *, actor: User, reply: QuickReply, title: str, body: str, language: str = ""
) -> QuickReply:
    if reply.owner_id != actor.pk:
        raise ValidationError(_("quick replies are personal"), code="owner")
    _check_quick_reply(title, body, language)
    guard_saved_texts(actor=actor, texts=[(title, body)], source="quick_reply")
    reply.title, reply.body, reply.language = title.strip(), body.strip(), language
    reply.save()
    return reply


def delete_quick_reply(*, actor: User, reply: QuickReply) -> None:
    if reply.owner_id != actor.pk:
        raise ValidationError(_("quick replies are personal"), code="owner")
    reply.delete()
