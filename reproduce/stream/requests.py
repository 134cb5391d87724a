"""Visitors' requests: typed text -> at most two of the 1000 classes, and
the queue in which requests wait their turn (:class:`RequestBoard`).

The 2015 stream read its Twitch chat this way (``read_the_chat.py``): each
class description ("tench, Tinca tinca") was split into comma-separated
parts and into single words; a message matched a whole part first, then a
single word, and common English words were never matched.  Two subjects
("X + Y") went to the two halves of the image, the first to the LOWER half
(``interesting_features[0]`` on the lower rows of the logit map).

What we keep and what we change, on purpose:

* Order of matching, per subject: (1) the whole subject is a part; (2) a
  run of its words is a part ("a big volcano" -> "volcano"), the longest
  run first, then the earliest; (3) one of its words, not a stop-word, is
  a word of a description, the earliest such word.  2015 had (2) written
  but switched off as "too sensitive" for a chat where most lines were not
  requests; here every text typed into the box is a request.
* Subjects are separated by " and ", "&" or "+" (2015: "+" only).  A text
  that is itself a part ("black and gold garden spider") stays one subject.
* Where one key names several classes (the word "clock", in "analog
  clock", "wall clock" and others), 2015 chose at random.  We choose
  deterministically: the class whose matching part is shortest, then the
  lowest class index.  (A whole description shared by two classes could
  not be ambiguous in 2015: its tables came from a description -> index
  dict, read_the_chat.py:42, so "crane" reached only the machine, class
  517, the later of the two.  We keep both: "crane" gives the bird, 134.)
* Which request shows next: two policies.  "queue" (ours, the default):
  first come, first served, each held ``hold_seconds``.  "2015"
  (read_the_chat.py ``process_the_chat``, lines 127-211): the latest 100
  requests wait in a pool; when the hold is over the pool is shuffled,
  the first request with a subject none of whose possible classes shows
  now is taken (a word that can mean the class showing is skipped, even
  where it would draw another class) and the others are dropped.  Both
  skip a request that repeats what shows.
* Bounded and total: text is cut to :data:`MAX_CHARS` characters,
  non-printable characters are dropped, and :meth:`RequestParser.parse`
  never raises for any ``str``.
"""
import collections
import dataclasses
import math
import random
import re
import threading
import time
import unicodedata
from typing import Tuple

from ..nets.classes import closest_descriptions, synonyms

# The 2015 chat reader's stop-words: ``ignore_list`` in ``ChatReader.__init__``
# of read_the_chat.py, 317070/Twitch-plays-LSD-neural-net at commit 9ff4086
# (its duplicates removed; order kept).  They never match a class.
STOP_WORDS_2015 = (
    "the", "of", "t", "and", "be", "to", "a", "in", "that", "have", "i", "it",
    "for", "not", "on", "with", "he", "as", "you", "do", "at", "this", "but",
    "his", "by", "from", "they", "we", "say", "her", "she", "or", "an", "will",
    "my", "one", "all", "would", "there", "their", "what", "so", "up", "out",
    "if", "about", "who", "get", "which", "go", "me", "when", "make", "can",
    "like", "time", "no", "just", "him", "know", "take", "people", "into",
    "year", "your", "good", "some", "could", "them", "see", "other", "than",
    "then", "now", "look", "only", "come", "its", "over", "think", "also",
    "back", "after", "use", "two", "how", "our", "work", "first", "well", "way",
    "even", "new", "want", "because", "any", "these", "give", "day", "most",
    "us")

# read_the_chat.py:92 (ChatReader.__init__): hold_subject_seconds = 60.
HOLD_SECONDS_2015 = 60.0
# read_the_chat.py:94: message_queue = deque(maxlen=100), the pool of the 2015 policy.
POOL_2015 = 100
POLICIES = ("queue", "2015")
MAX_CHARS = 200        # longer text is cut: a request names one or two things
MAX_SUBJECTS = 2       # the logit map has two halves (2015: max_features = 2)
MAX_KEY_CHARS = 40     # bounds the cost of looking for close matches
N_SUGGESTIONS = 3

_SEPARATOR = re.compile(r"\s+and\s+|[&+]", re.IGNORECASE)
_TOKEN = re.compile(r"[\w'.-]+")     # keeps "t-shirt", "jack-o'-lantern", "r.v."
_WORD = re.compile(r"[\w']+")        # the 2015 reader's single words


def clean(text):
    """Printable text only, whitespace collapsed, at most MAX_CHARS characters."""
    text = str(text)[:4 * MAX_CHARS]
    kept = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(unicodedata.normalize("NFKC", kept).split())[:MAX_CHARS]


def tokens(text):
    """Lower-case tokens, punctuation trimmed from their ends: "Volcano!" -> ("volcano",)."""
    out = (t.strip(".-'") for t in _TOKEN.findall(text.lower()))
    return tuple(t for t in out if t)


@dataclasses.dataclass(frozen=True)
class Target:
    """One matched class: its index, the part of its description that
    matched (``term``, what the overlay shows) and the whole description.
    ``means``: every class the matched key names ("clock": analog, digital,
    wall clock...), which the 2015 policy checks against what shows."""
    index: int
    term: str
    description: str
    means: Tuple[int, ...] = ()

    def reply(self):
        return {"index": self.index, "term": self.term, "description": self.description}


@dataclasses.dataclass(frozen=True)
class Request:
    """A parsed request.  ``targets`` (0-2) in typed order: the first goes to
    the lower half of the image.  ``unknown``: subjects that matched nothing;
    ``suggestions``: the descriptions closest to them."""
    text: str
    targets: Tuple[Target, ...] = ()
    unknown: Tuple[str, ...] = ()
    suggestions: Tuple[str, ...] = ()

    @property
    def ok(self):
        return bool(self.targets)

    @property
    def classes(self):
        """(lower, upper) class indices; one target fills both halves."""
        if not self.targets:
            return ()
        return (self.targets[0].index, self.targets[-1].index)

    @property
    def overlay(self):
        """The stream's overlay text: the matched terms, "A & B" (2015's form)."""
        return " & ".join(t.term for t in self.targets)

    def reply(self):
        """A JSON-ready dict for the request box."""
        out = {"text": self.text, "overlay": self.overlay,
               "classes": [t.reply() for t in self.targets],
               "unknown": list(self.unknown), "suggestions": list(self.suggestions)}
        if self.ok:
            out["message"] = "dreaming of %s" % self.overlay
            if self.unknown:
                out["message"] += "; unknown: %s" % ", ".join(self.unknown)
        elif self.unknown:
            out["message"] = "unknown: %s; close matches: %s" % (
                ", ".join(self.unknown), "; ".join(self.suggestions) or "none")
        else:
            out["message"] = "type what the network should dream of, e.g. volcano"
        return out


def request_for(classes, descriptions, text=""):
    """A :class:`Request` for known class indices (the first goes to the
    lower half); each term is the first part of the class's description."""
    targets = tuple(Target(int(i), descriptions[i].split(",")[0].strip(), descriptions[i],
                           (int(i),)) for i in dict.fromkeys(classes))
    return Request(text or " and ".join(t.term for t in targets), targets)


class RequestParser:
    """Matches text against ``descriptions`` (the model's 1000 classes).

    Built once (a few ms); :meth:`parse` is then a few dictionary look-ups,
    plus a fuzzy search for close matches when a subject is unknown.
    """

    def __init__(self, descriptions, stop_words=STOP_WORDS_2015):
        self.descriptions = list(descriptions)
        self.stop_words = frozenset(stop_words)
        parts, words = {}, {}
        for index, description in enumerate(self.descriptions):
            for part in synonyms(description):
                key = tokens(part)
                if key and " ".join(key) not in self.stop_words:
                    parts.setdefault(key, []).append((len(part), index, part))
                for word in _WORD.findall(part):
                    if word not in self.stop_words:
                        words.setdefault(word, []).append((len(part), index, part))
        # The deterministic choice among classes sharing a key: shortest part,
        # lowest index; after it, every class the key names
        self.parts = {k: min(v) + (tuple(sorted({i for _, i, _ in v})),)
                      for k, v in parts.items()}
        self.words = {k: min(v) + (tuple(sorted({i for _, i, _ in v})),)
                      for k, v in words.items()}
        self.longest_part = max(len(k) for k in self.parts)

    def parse(self, text):
        """``text`` -> :class:`Request`; never raises for a ``str``."""
        text = clean(text)
        whole = self.parts.get(tokens(text))
        if whole is not None:
            return Request(text, (self._target(whole),))
        targets, unknown = [], []
        for subject in _SEPARATOR.split(text):
            if not subject.strip():
                continue
            target = self._match(subject)
            if target is not None:
                # "bee and bee" is one class: it fills both halves anyway
                if len(targets) < MAX_SUBJECTS and target.index not in [
                        t.index for t in targets]:
                    targets.append(target)
            elif len(unknown) < MAX_SUBJECTS:
                unknown.append(subject.strip()[:MAX_KEY_CHARS])
        suggestions = []
        for subject in unknown:
            key = " ".join(t for t in tokens(subject) if t not in self.stop_words)
            for description in closest_descriptions((key or subject)[:MAX_KEY_CHARS],
                                                    self.descriptions, N_SUGGESTIONS):
                if description not in suggestions:
                    suggestions.append(description)
        return Request(text, tuple(targets), tuple(unknown),
                       tuple(suggestions[:N_SUGGESTIONS * MAX_SUBJECTS]))

    def _match(self, subject):
        """The :class:`Target` for one subject, or None."""
        words = tokens(subject)
        if not words:
            return None
        if words in self.parts:
            return self._target(self.parts[words])
        for n in range(min(len(words), self.longest_part), 0, -1):
            for start in range(len(words) - n + 1):
                hit = self.parts.get(words[start:start + n])
                if hit is not None:
                    return self._target(hit)
        for word in _WORD.findall(subject.lower()):
            if word not in self.stop_words and word in self.words:
                return self._target(self.words[word])
        return None

    def _target(self, hit):
        _, index, part, means = hit
        return Target(index, part, self.descriptions[index], means)


class RequestBoard:
    """The current request and the requests waiting for their turn.

    A visitor's request holds for ``hold_seconds`` while others wait; the
    start request (not a visitor's) holds for none, so the first request
    shows at once.  ``policy`` "queue": at most ``max_waiting`` wait, in
    order; more are turned away with status "busy".  ``policy`` "2015":
    the latest :data:`POOL_2015` wait in a pool, and one is drawn (with a
    ``random.Random(seed)``) when the hold ends, as read_the_chat.py did.
    A request for what shows now is skipped in both.  One client (an
    address) may hold at most ``max_per_client`` of the waiting requests
    (default half of ``max_waiting``), so that one visitor cannot fill the
    queue.  Thread-safe.
    """

    def __init__(self, parser, start, hold_seconds=HOLD_SECONDS_2015, max_waiting=8,
                 clock=time.monotonic, policy="queue", seed=0, max_per_client=None):
        if policy not in POLICIES:
            raise ValueError("policy must be one of %s, not %r" % (POLICIES, policy))
        self.parser, self.hold, self.max_waiting, self.clock = (
            parser, float(hold_seconds), int(max_waiting), clock)
        self.policy, self._rng = policy, random.Random(seed)
        self._lock = threading.Lock()
        self._current, self._since, self._held = start, clock(), False
        self._waiting = collections.deque(maxlen=POOL_2015 if policy == "2015" else None)
        self.max_per_client = int(max_per_client or max(1, self.max_waiting // 2))
        self._owners = {}  # id(request) -> the client that sent it, while it waits
        self.submitted = self.accepted = 0

    def submit(self, text, client=None):
        """Parse ``text`` from ``client`` (an address; None: anonymous) and
        queue it -> a JSON-ready reply.

        status: "acknowledged" (position 0: showing now, k: k-th in the
        queue, ``starts_in`` seconds; policy 2015: ``position`` is None, it
        is in the draw), "unknown" (with close matches) or "busy" (the
        queue is full).
        """
        request = self.parser.parse(text)
        reply = request.reply()
        with self._lock:
            self.submitted += 1
            if not request.ok:
                reply["status"] = "unknown"
                return reply
            now = self.clock()
            self._advance(now)
            if self._repeats(request):
                reply.update(status="acknowledged", position=0, starts_in=0.0,
                             message="already dreaming of %s" % self._current.overlay)
                return reply
            self._owners = {id(r): self._owners[id(r)] for r in self._waiting
                            if id(r) in self._owners}
            mine = sum(1 for owner in self._owners.values() if owner == client)
            if client is not None and mine >= self.max_per_client:
                reply.update(status="busy", message="you have %d requests waiting; "
                             "send more once they show" % mine)
                return reply
            if self.policy == "2015":
                self._owners[id(request)] = client
                return self._pool(request, reply, now)
            if len(self._waiting) >= self.max_waiting:
                reply.update(status="busy", message="the queue is full (%d waiting); "
                             "try again in a little while" % len(self._waiting))
                return reply
            self.accepted += 1
            self._waiting.append(request)
            self._owners[id(request)] = client
            self._advance(now)
            position = next((i + 1 for i, r in enumerate(self._waiting) if r is request), 0)
            reply.update(status="acknowledged", position=position,
                         starts_in=self._starts_in(position, now))
            if position:
                reply["message"] = reply["message"].replace(
                    "dreaming of %s" % request.overlay,
                    "%s: number %d in the queue, in about %d s" % (
                        request.overlay, position, math.ceil(reply["starts_in"])), 1)
        return reply

    def _pool(self, request, reply, now):
        """The 2015 policy's submit: into the pool (the oldest drops out of a full one)."""
        self.accepted += 1
        self._waiting.append(request)
        self._advance(now)
        if self._current is request:
            reply.update(status="acknowledged", position=0, starts_in=0.0)
        else:
            reply.update(status="acknowledged", position=None,
                         starts_in=round(self._hold_left(now), 1),
                         message="%s: in the draw with %d others in about %d s" % (
                             request.overlay, len(self._waiting) - 1,
                             math.ceil(self._hold_left(now))))
        return reply

    def _repeats(self, request):
        """Whether ``request`` asks for exactly what shows now."""
        return set(request.classes) == set(self._current.classes)

    def current(self):
        """The request showing now (advances the queue when its time has come)."""
        with self._lock:
            self._advance(self.clock())
            return self._current

    def snapshot(self):
        """JSON-ready: the current request, the waiting ones, seconds left."""
        with self._lock:
            now = self.clock()
            self._advance(now)
            return {"overlay": self._current.overlay,
                    "classes": list(self._current.classes),
                    "waiting": [r.overlay for r in self._waiting],
                    "hold_left": round(self._hold_left(now), 1),
                    "submitted": self.submitted, "accepted": self.accepted,
                    "policy": self.policy}

    def _hold_left(self, now):
        return max(0.0, self.hold - (now - self._since)) if self._held else 0.0

    def _starts_in(self, position, now):
        return 0.0 if position == 0 else self._hold_left(now) + (position - 1) * self.hold

    def _advance(self, now):
        if not self._waiting or self._hold_left(now) > 0:
            return
        if self.policy == "2015":
            chosen = self._draw()
        else:
            chosen = None
            while self._waiting and chosen is None:
                request = self._waiting.popleft()
                chosen = None if self._repeats(request) else request
        if chosen is not None:
            self._current, self._since, self._held = chosen, now, True

    def _draw(self):
        """read_the_chat.py:136-211: shuffle the pool, empty it, take the first
        request with a subject none of whose classes shows now (the others
        dropped): 2015 skipped a word when any class it can mean was showing
        (:161), so with "analog clock" showing, "clock" is skipped though it
        would draw another clock; None if there is none."""
        pool = list(self._waiting)
        self._rng.shuffle(pool)
        self._waiting.clear()
        showing = set(self._current.classes)
        for request in pool:
            kept = tuple(t for t in request.targets
                         if showing.isdisjoint(t.means or (t.index,)))
            if kept:
                return request if kept == request.targets else \
                    dataclasses.replace(request, targets=kept)
        return None
