"""Images reach buyers (issue 12 §4): an agent attaches an image to a reply; it is checked,
stripped of metadata, stored under the data directory and served at a public, unguessable
address that the callback carries. Bad input is refused with a reason and stores nothing."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from kefu.conversations.media import media_dir
from kefu.conversations.models import Conversation, MediaFile, Message, Outbox
from tests.conftest import login_client
from tests.helpers import image_bytes, online, post_signed

pytestmark = pytest.mark.django_db

EXIF = {0x010F: "PhoneMaker", 0x013B: "Wang Fang, 12 Long Road"}  # Make, Artist


@pytest.fixture(autouse=True)
def _own_media_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


@pytest.fixture
def conv(shop, owner, pre_agent) -> Conversation:
    online(pre_agent)
    response = post_signed(
        Client(),
        shop,
        {
            "external_id": "ae-msg-1",
            "buyer": {"external_id": "ae-buyer-7", "name": "Olga", "language": "en"},
            "entry_point": "order_detail",
            "text": "Where is my parcel? Show me the shipping note",
        },
    )
    assert response.status_code in (200, 202)
    return Conversation.objects.get(buyer__external_id="ae-buyer-7")


def upload(name: str, data: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type)


def stored_files() -> list[str]:
    return sorted(p.name for p in media_dir().glob("*")) if media_dir().exists() else []


def test_stored_images_live_under_the_data_directory(conv, owner, tmp_path):
    client = login_client(owner)
    client.post(
        f"/api/v1/conversations/{conv.pk}/images",
        {"image": upload("a.gif", image_bytes("GIF"), "image/gif")},
    )
    (media,) = MediaFile.objects.all()
    assert stored_files() == [f"{media.token}.gif"]
    assert media_dir() == tmp_path / "media" / "m"


def test_a_phone_photo_reaches_the_marketplace_without_its_exif(
    conv, owner, marketplace, django_capture_on_commit_callbacks, settings
):
    settings.KEFU_PUBLIC_URL = "https://kefu.shop.example"
    photo = image_bytes("JPEG", size=(40, 30), exif=EXIF)
    assert Image.open(io.BytesIO(photo)).getexif()[0x013B] == EXIF[0x013B]
    client = login_client(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/inbox/{conv.pk}/reply/",
            {"text": "Here is the shipping note.", "image": upload("note.jpg", photo)},
        )
    assert response.status_code == 302
    message = Message.objects.get(conversation=conv, direction="agent")
    assert message.kind == "image"
    assert message.text.startswith("Here is the shipping note.")
    path = message.payload["image"]["path"]
    assert re.fullmatch(r"/media/m/[A-Za-z0-9_-]{32}\.jpg", path)
    assert Outbox.objects.get(message=message).status == "delivered"

    (sent,) = marketplace
    assert sent["kind"] == "image"
    assert sent["payload"]["image"] == {
        "path": path,
        "url": f"https://kefu.shop.example{path}",
        "width": 40,
        "height": 30,
        "content_type": "image/jpeg",
    }

    # Anyone with the address gets the image, no login, cacheable, typed, without metadata.
    served = Client().get(path)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in served["Cache-Control"]
    body = served.content
    assert b"PhoneMaker" not in body and b"Wang Fang" not in body
    assert not Image.open(io.BytesIO(body)).getexif()
    assert Image.open(io.BytesIO(body)).size == (40, 30)
    head = Client().head(path)
    assert (head.status_code, head["Content-Type"]) == (200, "image/jpeg")
    assert Client().post(path).status_code == 405
    assert Client().get(path.replace(".jpg", ".png")).status_code == 404
    assert Client().get("/media/m/not-a-token.jpg").status_code == 404

    page = client.get(f"/inbox/{conv.pk}/").content.decode()
    assert f'<img src="{path}"' in page  # the timeline shows a thumbnail
    api = client.get(f"/api/v1/conversations/{conv.pk}/messages").json()[-1]
    assert api["payload"]["image"]["url"] == f"https://kefu.shop.example{path}"


def test_an_image_through_the_api_with_the_rule_guard_on_its_caption(conv, owner):
    client = login_client(owner)
    png = image_bytes("PNG", size=(8, 8))
    sent = client.post(
        f"/api/v1/conversations/{conv.pk}/images", {"image": upload("p.png", png, "image/png")}
    )
    assert sent.status_code == 201, sent.content
    assert sent.json()["kind"] == "image"
    assert sent.json()["payload"]["image"]["content_type"] == "image/png"
    # The same picture twice is one stored file at one address.
    twice = client.post(
        f"/api/v1/conversations/{conv.pk}/images", {"image": upload("p.png", png, "image/png")}
    )
    assert twice.json()["payload"]["image"]["url"] == sent.json()["payload"]["image"]["url"]
    assert MediaFile.objects.count() == 1

    # A caption is text the buyer reads: it passes the rule guard like any reply.
    blocked = client.post(
        f"/api/v1/conversations/{conv.pk}/images",
        {
            "image": upload("q.png", image_bytes("PNG", size=(9, 9)), "image/png"),
            "caption": "Add me on WhatsApp +7 912 345 67 89 and pay outside",
        },
    )
    assert blocked.status_code in (409, 422), blocked.content
    assert MediaFile.objects.count() == 1
    assert Message.objects.filter(direction="agent").count() == 2


def test_fake_oversized_and_unsupported_images_are_refused_and_nothing_is_stored(
    conv, owner, settings
):
    settings.KEFU_MAX_IMAGE_BYTES = 64 * 1024
    client = login_client(owner)
    assert stored_files() == []
    fake = upload("photo.png", b"this is a text file renamed to .png\n" * 20, "image/png")
    big = upload("huge.png", image_bytes("PNG") + b"\0" * (64 * 1024), "image/png")
    bmp = upload("scan.bmp", image_bytes("BMP"), "image/bmp")
    truncated = upload("cut.jpg", image_bytes("JPEG", size=(64, 64))[:200])
    cases = [
        (fake, "not an image Kefu can read"),
        (big, "larger than 64 KB"),
        (bmp, "JPEG, PNG, WebP or GIF"),
        (truncated, "not an image Kefu can read"),
    ]
    for bad, reason in cases:
        bad.seek(0)
        api = client.post(f"/api/v1/conversations/{conv.pk}/images", {"image": bad})
        assert api.status_code == 400, (bad.name, api.content)
        assert reason in api.json()["detail"], (bad.name, api.json())
        bad.seek(0)
        page = client.post(
            f"/inbox/{conv.pk}/reply/", {"text": "see", "image": bad}, HTTP_HX_REQUEST="true"
        )
        assert page.status_code == 400
        assert reason in page.content.decode()
    assert not Message.objects.filter(direction="agent").exists()
    assert not MediaFile.objects.exists()
    assert not Outbox.objects.exists()
    assert stored_files() == []


def test_a_warned_caption_needs_send_anyway_and_the_image_goes_with_it(conv, owner):
    client = login_client(owner)
    client.post("/language/", {"language": "en"})
    photo = image_bytes("PNG", size=(10, 10))
    caption = "Please wait patiently for the refund"
    warned = client.post(
        f"/inbox/{conv.pk}/reply/",
        {"text": caption, "image": upload("n.png", photo, "image/png")},
        HTTP_HX_REQUEST="true",
    )
    assert warned.status_code == 409
    page = warned.content.decode()
    # "Send anyway" posts the picked image again with the text, so the image is not dropped.
    assert 'hx-include="#reply-text, #reply-image"' in page
    assert 'hx-encoding="multipart/form-data"' in page
    assert not MediaFile.objects.exists()
    sent = client.post(
        f"/inbox/{conv.pk}/reply/",
        {"text": caption, "image": upload("n.png", photo, "image/png"), "confirm_warnings": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert sent.status_code == 204
    message = Message.objects.get(direction="agent")
    assert (message.kind, message.payload["image"]["width"]) == ("image", 10)
    assert message.text.startswith(caption)
