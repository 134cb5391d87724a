"""Visitors' requests matched against the 1000 classes, the 2015 chat reader's way."""
import random

import pytest

from reproduce.nets.classes import imagenet_descriptions
from reproduce.stream.requests import (MAX_CHARS, STOP_WORDS_2015, RequestParser, clean,
                                request_for)

DESCRIPTIONS = imagenet_descriptions()[0]


@pytest.fixture(scope="module")
def parser():
    return RequestParser(DESCRIPTIONS)


def index(name):
    return next(i for i, d in enumerate(DESCRIPTIONS) if d.split(",")[0] == name)


def test_single_class_by_a_whole_part(parser):
    request = parser.parse("volcano")
    assert request.ok and request.classes == (index("volcano"),) * 2
    assert request.overlay == "volcano" and not request.unknown
    # any comma-separated part, any case, punctuation around it ignored
    assert parser.parse("  Tinca TINCA!  ").classes == (index("tench"),) * 2
    assert parser.parse("T-shirt").classes == (index("jersey"),) * 2


def test_a_part_inside_longer_text_and_single_words(parser):
    assert parser.parse("a big volcano please").classes == (index("volcano"),) * 2
    assert parser.parse("I want a great white shark").overlay == "great white shark"
    # a single word of a description: "clock" is in several; the shortest part wins
    request = parser.parse("clock")
    assert request.ok and request.overlay == "wall clock"
    assert all("clock" in t.description for t in request.targets)


def test_two_classes_first_goes_to_the_lower_half(parser):
    for text in ("rabbit and analog clock", "rabbit + analog clock",
                 "rabbit & analog clock", "Rabbit AND analog clock"):
        request = parser.parse(text)
        lower, upper = request.classes
        assert "rabbit" in DESCRIPTIONS[lower] and DESCRIPTIONS[upper] == "analog clock", text
        assert request.overlay.endswith(" & analog clock")
    assert parser.parse("analog clock and bee").classes == (index("analog clock"),
                                                            index("bee"))


def test_a_class_named_with_and_stays_one_class(parser):
    request = parser.parse("black and gold garden spider")
    assert len(request.targets) == 1
    assert request.targets[0].description.startswith("black and gold garden spider")


def test_at_most_two_targets_and_no_duplicates(parser):
    request = parser.parse("bee and bee and volcano and pizza")
    assert request.classes == (index("bee"), index("volcano"))
    assert parser.parse("bee and bee").classes == (index("bee"),) * 2


def test_stop_words_never_match(parser):
    assert len(set(STOP_WORDS_2015)) == len(STOP_WORDS_2015) > 90
    # Without the 2015 list these words would pick a class: "the" from "hen of
    # the woods", "one" from "one-armed bandit", "t" from "t-shirt", "back"
    # from "back pack", "day" from "day bed".
    unfiltered = RequestParser(DESCRIPTIONS, stop_words=())
    for word in ("the", "one", "t", "back", "day", "of"):
        assert unfiltered.parse(word).ok, word
        assert not parser.parse(word).ok, word
    assert parser.parse("the one volcano").overlay == "volcano"


def test_unknown_words_get_close_matches(parser):
    request = parser.parse("volcanoe")
    assert not request.ok and request.unknown == ("volcanoe",)
    assert "volcano" in request.suggestions
    reply = request.reply()
    assert "volcano" in reply["message"] and reply["suggestions"]
    # one known, one unknown: the known one is taken, the other reported
    request = parser.parse("bee and xyzzyq")
    assert request.classes == (index("bee"),) * 2 and request.unknown == ("xyzzyq",)


def test_deterministic(parser):
    texts = ["dog", "crane", "clock and fox", "snake"]
    first = [parser.parse(t).classes for t in texts]
    again = RequestParser(DESCRIPTIONS)
    assert [again.parse(t).classes for t in texts] == first
    # "crane" names a bird and a machine: the lowest index of equal parts wins
    cranes = [i for i, d in enumerate(DESCRIPTIONS) if "crane" in
              [p.strip().lower() for p in d.split(",")]]
    assert len(cranes) == 2 and parser.parse("crane").classes[0] == min(cranes)


def test_garbage_never_raises():
    parser = RequestParser(DESCRIPTIONS)
    rng = random.Random(0)
    samples = ["", " ", "\x00\x01\x02", "\ud800\udfff", "+", "&&&", "and and and",
               "'''", "..--..", "\u202e\u200bvolcano\u200b", "🌋 volcano 🐝",
               "%s" % bytes(range(256)).decode("latin-1")]
    samples += ["".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randrange(80)))
                for _ in range(30)]
    for text in samples:
        request = parser.parse(text)
        assert len(request.text) <= MAX_CHARS and request.text.isprintable()
        assert len(request.targets) <= 2 and isinstance(request.reply()["message"], str)
    assert parser.parse("\x00\x01volcano\x7f").overlay == "volcano"
    assert parser.parse("🌋 volcano 🐝").overlay == "volcano"


def test_very_long_text_is_cut_and_stays_fast(parser):
    import time
    text = "volcano " + "x" * 1000000
    started = time.perf_counter()
    request = parser.parse(text)
    assert time.perf_counter() - started < 2.0
    assert len(request.text) == MAX_CHARS and request.overlay == "volcano"
    long_garbage = "qz" * 500000
    request = parser.parse(long_garbage)
    assert not request.ok and all(len(u) <= 40 for u in request.unknown)
    assert len(clean("a\tb\n\nc" * 1000)) == MAX_CHARS


def test_request_for_known_classes():
    request = request_for([index("bee"), index("analog clock")], DESCRIPTIONS)
    assert request.classes == (index("bee"), index("analog clock"))
    assert request.overlay == "bee & analog clock"


# ---------------------------------------------------------------- policies

def process_the_chat_2015(state, pool, now, rng, hold=60):
    """read_the_chat.py process_the_chat (lines 127-211), ported literally on
    parsed requests: each message is a list of subjects, each subject the
    class its word names and every class the word can mean (2015's
    ``dictionary[word]``).  ``state``: dict current (list of classes) and
    last_read_time.  Returns the current classes after the call."""
    if now - state["last_read_time"] < hold:
        return state["current"]
    messages = list(pool)
    rng.shuffle(messages)
    pool.clear()
    for message in messages:
        total_features = []
        for feature, means in message:
            # read_the_chat.py:161
            if any(current in means for current in state["current"]):
                continue
            total_features.append(feature)
        if len(total_features) == 0:
            continue
        state["current"] = total_features[:2]
        state["last_read_time"] = now
        break
    return state["current"]


def test_the_2015_policy_is_the_2015_chat_reader():
    from collections import deque
    from reproduce.stream.requests import POOL_2015, RequestBoard
    parser = RequestParser(DESCRIPTIONS)
    names = ["volcano", "bee", "broccoli", "pizza", "bubble", "bee and volcano",
             "broccoli and pizza", "tree frog", "volcano", "clock", "analog clock",
             "wall clock and bee", "digital clock"]
    now = [0.0]
    start = request_for([index("gondola")], DESCRIPTIONS)
    board = RequestBoard(parser, start, hold_seconds=60, clock=lambda: now[0],
                         policy="2015", seed=7)
    state = {"current": [index("gondola")], "last_read_time": -1e9}
    pool, rng, script = deque(maxlen=POOL_2015), random.Random(7), random.Random(1)
    for _ in range(400):
        now[0] += script.choice([0.5, 3.0, 20.0])
        for _ in range(script.choice([0, 0, 1, 3, 40])):
            text = script.choice(names)
            # The board reads the pool at every call, as 2015 at every zoom:
            # here before and after the request arrives.
            process_the_chat_2015(state, pool, now[0], rng)
            reply = board.submit(text)
            assert reply["status"] == "acknowledged"
            targets = parser.parse(text).targets
            # a repeat of what shows is skipped at once (2015: at the draw)
            if {t.index for t in targets} != set(state["current"]):
                pool.append([(t.index, t.means) for t in targets])
            process_the_chat_2015(state, pool, now[0], rng)
        expected = process_the_chat_2015(state, pool, now[0], rng)
        got = [t.index for t in board.current().targets]
        assert got == expected
    assert board.snapshot()["policy"] == "2015"


def test_2015_skips_a_word_that_can_mean_what_shows():
    """With "analog clock" showing, "clock" (which can mean it, and draws
    another clock) is skipped by the 2015 policy, as read_the_chat.py:161,
    and taken by the queue, which skips only an exact repeat."""
    from reproduce.stream.requests import RequestBoard
    parser = RequestParser(DESCRIPTIONS)
    clock = parser.parse("clock").targets[0]
    assert index("analog clock") in clock.means and clock.index != index("analog clock")
    for policy, shown in (("2015", "analog clock"), ("queue", clock.term)):
        now = [0.0]
        board = RequestBoard(parser, request_for([index("analog clock")], DESCRIPTIONS),
                             hold_seconds=60, clock=lambda: now[0], policy=policy)
        board.submit("clock")
        now[0] = 61.0
        assert board.current().overlay == shown, policy
    assert parser.parse("volcano").reply()["classes"][0].keys() == {
        "index", "term", "description"}


def test_both_policies_skip_a_repeat_of_what_shows():
    from reproduce.stream.requests import RequestBoard
    parser = RequestParser(DESCRIPTIONS)
    for policy in ("queue", "2015"):
        now = [0.0]
        board = RequestBoard(parser, request_for([index("bee")], DESCRIPTIONS),
                             hold_seconds=60, clock=lambda: now[0], policy=policy)
        assert board.submit("volcano")["position"] == 0
        reply = board.submit("volcano")
        assert reply["position"] == 0 and "already" in reply["message"]
        assert board.snapshot()["waiting"] == []
        board.submit("broccoli")
        now[0] = 61.0
        assert board.current().overlay == "broccoli"
    # the queue drops a waiting request that repeats what has come to show
    now = [0.0]
    board = RequestBoard(parser, request_for([index("bee")], DESCRIPTIONS),
                         hold_seconds=60, clock=lambda: now[0])
    board.submit("volcano")
    for text in ("pizza", "pizza", "bubble"):
        board.submit(text)
    now[0] = 60.0
    assert board.current().overlay == "pizza"
    now[0] = 120.0
    assert board.current().overlay == "bubble"


def test_crane_as_2015_could_not_reach_both():
    # 2015's tables came from a description -> index dict (read_the_chat.py:42):
    # two classes described exactly "crane" left only the later one, 517.
    table = {d: i for i, d in enumerate(DESCRIPTIONS)}
    assert table["crane"] == 517 and DESCRIPTIONS[134] == "crane"
