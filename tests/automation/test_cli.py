"""`kefu scripts ...` and `kefu keywords ...` from a shell."""

from kefu.automation.data.default_library import SCRIPTS


def _run_cli(argv):
    import argparse

    from django.core.management.base import CommandError

    from kefu.automation.cli import register

    parser = argparse.ArgumentParser(prog="kefu")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CommandError:
        return 2


def test_cli_installs_and_suggests(shop, capsys):
    assert _run_cli(["scripts", "install", "--shop", shop.slug]) == 0
    assert capsys.readouterr().out.strip() == f"added {len(SCRIPTS)} scripts"
    argv = [
        "scripts",
        "suggest",
        "--shop",
        shop.slug,
        "--language",
        "zh-hans",
        "--order-state",
        "available_for_pickup",
        "包裹呢",
    ]
    assert _run_cli(argv) == 0
    assert "Parcel waiting at the local post office" in capsys.readouterr().out.splitlines()[0]
    assert _run_cli(["scripts", "install", "--shop", "nope"]) == 2
