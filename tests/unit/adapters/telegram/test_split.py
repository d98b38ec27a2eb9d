from adapters.telegram.limits import TEXT_LIMIT, fit, split_for_telegram, utf16_len


def test_emoji_heavy_text_fits_telegram_utf16_limit() -> None:
    text = " ".join(["😀😀😀"] * 3000)  # 12 000 UTF-16 units in 11 999 characters
    chunks = split_for_telegram(text)
    assert all(utf16_len(c) <= TEXT_LIMIT for c in chunks)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")


def test_plain_text_uses_the_full_limit() -> None:
    text = " ".join(["word"] * 2000)
    assert len(split_for_telegram(text)) == 3


def test_fit_cuts_in_utf16_units_and_never_halves_an_emoji() -> None:
    assert fit("short", 10) == "short"
    cut = fit("a" + "😀" * 10, 6)  # the limit falls inside the third emoji
    assert cut == "a😀😀…"
    assert utf16_len(cut) <= 6
