"""Retake the care screenshots of docs/guide/care.md from the demo shop, in both languages.

    export KEFU_DATA_DIR=/tmp/kefu-shots      # an empty data dir: SQLite, nothing shared
    kefu migrate && kefu demo load
    kefu run --host 127.0.0.1 --port 8765 &   # stop it by its pid afterwards
    python docs/screenshots/care_shots.py http://127.0.0.1:8765

Full pages 1280 px wide, as the other screenshots. The review upload is shown with the column
mapping it offers for an export whose headers Kefu does not know (nothing is imported: the
page is photographed before the mapping is submitted).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).parent
REVIEWS = "Bewertung Nr,Bestellung,Sterne,Kommentar,Datum\nR-1,DE-1,1,kaputt,2026-11-25 10:00\n"


def main(base: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        for lang, short in (("en", "en"), ("zh-hans", "zh")):
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", "aurora-owner")
            page.fill("input[name=password]", "kefu-demo-2026")
            page.click("button[type=submit]")
            page.click(f"button[value={lang}]")
            page.goto(f"{base}/care/follow-ups/")
            page.screenshot(path=str(OUT / f"follow-ups-{short}.png"), full_page=True)
            page.goto(f"{base}/care/reviews/import/")
            page.set_input_files(
                "form.import-form input[name=file]",
                {"name": "bewertungen.csv", "mimeType": "text/csv", "buffer": REVIEWS.encode()},
            )
            page.locator("form.import-form button.primary").click()
            page.locator("#column-mapping").wait_for()
            page.screenshot(path=str(OUT / f"reviews-import-{short}.png"), full_page=True)
            page.context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1])
