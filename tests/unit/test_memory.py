"""Memory building blocks: messages with pinned photos and recalled turns, similarity ranking."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.chat.memory import Recollection, build_messages, latest_images, most_similar, recalled_note
from storage import Turn, TurnImage
from storage.embeddings import StoredVector, pack, unpack

JPEG = TurnImage("image/jpeg", b"\xff\xd8jpeg")
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def turn(id_: int, role: str, content: str, images: tuple[TurnImage, ...] = ()) -> Turn:
    return Turn(id=id_, role=role, content=content, tokens=5, created_at=NOW, images=images)  # type: ignore[arg-type]


def test_plain_history_is_system_turns_question() -> None:
    memory = Recollection([turn(1, "user", "hi"), turn(2, "assistant", "hello")])
    messages = build_messages("sys", memory, "how are you?", ())
    assert messages == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "how are you?"},
    ]


def test_recalled_turns_and_a_pinned_photo_come_before_the_window() -> None:
    memory = Recollection(
        history=[turn(9, "assistant", "a drawing", (JPEG,))],
        pinned=turn(3, "user", "look at this", (JPEG,)),
        recalled=[turn(1, "user", "my cat is Mochi")],
    )
    messages = build_messages("sys", memory, "and now?", (JPEG,))
    assert messages[1] == {"role": "system", "content": recalled_note(memory.recalled)}
    assert messages[2]["role"] == "user"
    assert messages[2]["content"][0] == {"type": "text", "text": "(photo sent earlier) look at this"}
    assert messages[2]["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert messages[3] == {"role": "assistant", "content": "a drawing"}, "answers carry no image parts"
    assert messages[4]["role"] == "user", "the bot's pictures follow as a user message"
    assert messages[4]["content"][0]["text"] == "(the pictures from your answer above)"
    assert messages[5]["content"][1]["type"] == "image_url"
    assert latest_images(memory) == (JPEG,)
    assert latest_images(Recollection([], pinned=turn(3, "assistant", "drawn", (JPEG,)))) == (JPEG,)
    assert latest_images(Recollection([turn(1, "user", "hi")])) == ()


def test_recalled_note_shortens_long_turns() -> None:
    note = recalled_note([turn(1, "user", "word " * 500)])
    assert note.splitlines()[0].startswith("Earlier in this conversation")
    assert len(note.splitlines()[1]) < 620 and note.endswith("…")


def test_most_similar_keeps_the_best_above_the_floor_in_turn_order() -> None:
    candidates = [
        StoredVector(1, pack((1.0, 0.0, 0.0))),
        StoredVector(2, pack((0.0, 1.0, 0.0))),
        StoredVector(3, pack((0.9, 0.1, 0.0))),
        StoredVector(4, pack((0.7, 0.0, 0.7))),
        StoredVector(5, pack((1.0, 0.0))),  # another model's size: ignored
        StoredVector(6, pack((0.0, 0.0, 0.0))),  # no direction: never recalled
    ]
    assert most_similar([1.0, 0.0, 0.0], candidates, 2) == [1, 3]
    assert most_similar([1.0, 0.0, 0.0], candidates, 5) == [1, 3, 4], "orthogonal turn 2 is below the floor"
    assert most_similar([1.0, 0.0, 0.0], candidates, 2, exclude=frozenset({1})) == [3, 4]


def test_vectors_pack_as_float32() -> None:
    data = pack([0.5, -1.25, 3.0])
    assert len(data) == 12 and unpack(data) == (0.5, -1.25, 3.0)
