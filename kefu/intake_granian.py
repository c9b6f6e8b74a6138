"""`kefu run`'s intake server process: granian's command line, with the intake application
imported before granian starts its workers (decisions §107).

On Linux granian gives each worker a listening socket of its own (SO_REUSEPORT); the main
process holds none. With one intake process (SQLite) the port refuses connections from the
moment that worker dies until its replacement listens, and the replacement used to import
Django and the API first: 24 s of refused connections in the 20,000-message soak. granian
forks its workers (Python's default start method on Linux before 3.14), so with the
application imported here first a replacement starts from what this process holds.
"""

from __future__ import annotations


def main() -> None:
    from granian.cli import entrypoint

    from kefu.intake_wsgi import preload

    preload()
    entrypoint()  # type: ignore[no-untyped-call]  # granian's click entry point


if __name__ == "__main__":
    main()
