"""Finding images inside chat answers (markdown, bare URLs, data URLs, content parts)."""

from __future__ import annotations

from bot.chat.images import MAX_IMAGES, find_images

DATA = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="


def test_markdown_https_image_is_taken_out_of_the_text() -> None:
    found = find_images("Generating image: a cat\n\n![image](https://cdn.test/a.png)\n\nEnjoy!")
    assert found.urls == ("https://cdn.test/a.png",)
    assert found.text == "Generating image: a cat\n\nEnjoy!"


def test_markdown_data_url_and_a_title() -> None:
    found = find_images(f'Here:\n![pic]({DATA} "the cat")')
    assert found.urls == (DATA,) and found.text == "Here:"


def test_bare_image_urls_and_bare_data_urls() -> None:
    found = find_images(f"see https://x.test/img/1.JPG?sig=abc and {DATA} done")
    assert set(found.urls) == {"https://x.test/img/1.JPG?sig=abc", DATA}
    assert found.text == "see  and  done"


def test_links_to_pages_and_other_schemes_stay_text() -> None:
    text = "read https://example.com/about and ![x](javascript:alert(1)) ![y](file:///etc/passwd)"
    found = find_images(text)
    assert found.urls == ()
    assert "https://example.com/about" in found.text and "file:///etc/passwd" in found.text


def test_repeats_are_dropped_and_content_part_urls_added() -> None:
    found = find_images(
        "![a](https://x.test/a.png) ![a](https://x.test/a.png)", ["https://x.test/b.webp", "ftp://no"]
    )
    assert found.urls == ("https://x.test/a.png", "https://x.test/b.webp")


def test_at_most_ten_images() -> None:
    text = " ".join(f"![i](https://x.test/{n}.png)" for n in range(15))
    assert len(find_images(text).urls) == MAX_IMAGES
