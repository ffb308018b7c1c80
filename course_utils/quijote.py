"""Who is speaking, Don Quijote or Sancho? Labelled utterances from the novel's dialogue.

In Project Gutenberg's text (hard-wrapped at about 75 characters) a turn of dialogue is a
line that starts with an em dash (U+2014) followed by the spoken words; its wrapped lines
follow it up to a blank line or the next turn. The narrator's tags sit between dashes
inside the turn or after its last dash:

    — Cualquiera yantaría yo —respondió don Quijote—, porque, a lo que entiendo,
    me haría mucho al caso.

Splitting a turn at its dashes gives spoken text (even pieces) and narrator text (odd
pieces). A turn is labelled, conservatively, only when its first narrator piece is a
tag that starts with a speech verb (SPEECH_VERBS, maybe after a clitic such as "le")
followed, after at most a few words that contain no article or other subject, by a name
form of exactly one of the two (NAMES), not as the object of a preposition ("a Sancho",
"de don Quijote"); the other one must not be named in any narrator piece, and every
other tag of the turn must name the same speaker. Everything else is dropped: turns
with no tag, other speakers ("dijo el cura"), titles such as "su amo", and tags naming
both. `Utterance.text` is the spoken text only, with the tags removed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["NAMES", "SPEECH_VERBS", "Utterance", "chapter_split", "speaker_utterances"]

# Speech verbs that open a narrator's tag ("replico": the text's own misspelling, twice).
SPEECH_VERBS = ("dijo", "respondió", "replicó", "replico", "preguntó", "añadió", "prosiguió", "siguió",
                "repitió", "decía", "gritó", "exclamó", "contestó", "tornó a decir", "volvió a decir",
                "tornó a replicar", "volvió a replicar", "tornó a preguntar", "volvió a preguntar")
# Name forms per speaker. "Panza" alone is Sancho, except in the names of his wife and daughter.
NAMES = {
    "quijote": r"(?:don\s+)?Quijote\b",
    "sancho": r"(?<!Teresa\s)(?<!Juana\s)(?<!Mari\s)\b(?:Sancho(?:\s+Panza)?|Panza)\b",
}
MAX_GAP_WORDS = 6  # words allowed between the verb and the name: "a esta sazón", "en viéndole"
# Words that show that the gap holds another subject or a new clause ("dijo el cura, y don Quijote…").
_GAP_STOP = {"el", "la", "los", "las", "lo", "un", "una", "uno", "unos", "unas", "otro", "otra", "su", "sus",
             "y", "e", "que", "cual", "quien", "mientras", "cuando", "porque", "pero", "mas"}
_PREPOSITIONS = ("a", "al", "de", "del", "con", "para", "por", "sin", "contra", "hacia", "ante", "entre", "según")
_CLITIC = r"(?:(?:le|les|se|me|te|nos|os|lo|la)\s+)?"
_TAG = re.compile(_CLITIC + r"(?:" + "|".join(v.replace(" ", r"\s+") for v in SPEECH_VERBS) + r")\b")
_NAME = re.compile("|".join(f"(?P<{who}>{pattern})" for who, pattern in NAMES.items()))
_AFTER_PREPOSITION = re.compile(r"\b(?:" + "|".join(_PREPOSITIONS) + r")\s+$")
_CHAPTER = re.compile(r"Capítulo\s+([Pp]rimero|[IVXLC]+)\.")
_PART = re.compile(r"(Primera|Segunda|Tercera|Cuarta)\s+parte\s+del\s+ingenioso")
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


@dataclass(frozen=True)
class Utterance:
    """One labelled turn: the spoken text, who said it, where, and the tag that told us."""

    text: str
    speaker: str  # "quijote" or "sancho"
    part: int  # 1 (1605) or 2 (1615)
    chapter: int  # chapter number within its part
    tag: str  # the narrator's tag that named the speaker, e.g. "respondió Sancho"

    @property
    def chapter_id(self) -> tuple[int, int]:
        return self.part, self.chapter

    @property
    def words(self) -> int:
        return len(self.text.split())


def _roman(numeral: str) -> int:
    """The chapter number of 'primero' or a Roman numeral ('XLIV' → 44)."""
    if numeral.lower() == "primero":
        return 1
    values = [_ROMAN[c] for c in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _speaker_of(tag: str) -> str | None:
    """'quijote', 'sancho' or None: the subject named right after the tag's speech verb.

    A bare verb ("—prosiguió—") gives "" (the same speaker goes on).
    """
    verb = _TAG.match(tag)
    if verb is None:
        return None
    if not tag[verb.end():].strip(" ,.;:"):
        return ""
    for name in _NAME.finditer(tag, verb.end()):
        if _AFTER_PREPOSITION.search(tag[:name.start()]):
            continue  # "a Sancho", "de don Quijote": the addressee or an owner, not the speaker
        gap = re.findall(r"\w+", tag[verb.end():name.start()])
        if len(gap) > MAX_GAP_WORDS or _GAP_STOP & {w.lower() for w in gap}:
            return None
        return name.lastgroup
    return None


def _spoken(pieces: list[str]) -> str:
    """Join the spoken pieces; a piece after a tag may open with the tag's punctuation.

    "yo —respondió—, porque" gives "yo, porque"; "¿villano? —dijo—. Por" gives "¿villano? Por".
    """
    text = ""
    for piece in (" ".join(p.split()) for p in pieces):
        if text and piece[:1] in ",.;:":
            if text[-1] in ".?!…»":  # the sentence had already ended before the tag
                piece = piece[1:].lstrip()
                text = f"{text} {piece}" if piece else text
            else:
                text += piece
        elif piece:
            text = f"{text} {piece}" if text else piece
    return text


def _label(turn: str) -> tuple[str, str, str] | None:
    """(speaker, spoken text, tag) of one turn (its lines joined), or None when unsure."""
    pieces = turn.lstrip()[1:].split("—")  # drop the opening dash; then speech, tag, speech, tag…
    tags = [re.sub(r"\s+", " ", p).strip() for p in pieces[1::2]]
    if not tags:
        return None
    speaker = _speaker_of(tags[0])
    if not speaker:
        return None
    other = "sancho" if speaker == "quijote" else "quijote"
    for tag in tags:
        if re.search(NAMES[other], tag) or (_TAG.match(tag) and _speaker_of(tag) not in (speaker, "")):
            return None
    text = _spoken(pieces[0::2])
    tag = re.split(r"[.;:(]", tags[0])[0].strip(" ,")
    return (speaker, text, tag) if text else None


def _opens_turn(line: str) -> bool:
    """"— Pues…" opens a turn; "— respondió Sancho—, …" is a tag wrapped onto a new line."""
    rest = line[1:].lstrip()
    return line.startswith("—") and bool(rest) and not rest[0].islower()


def _turns(text: str) -> Iterator[tuple[int, int, str]]:
    """(part, chapter, turn) for every dialogue turn inside a chapter, its lines joined by spaces."""
    part, chapter = 0, None
    for paragraph in re.split(r"\n[ \t]*\n", text):
        paragraph = paragraph.strip()
        if _PART.match(paragraph):
            chapter = None  # a part's title page, prologue or dedication follows
        elif heading := _CHAPTER.match(paragraph):
            number = _roman(heading.group(1))
            part += number == 1
            chapter = number
        elif chapter is not None and paragraph.startswith("—"):
            turn: list[str] = []
            for line in paragraph.split("\n"):
                line = line.strip()
                if _opens_turn(line) and turn:
                    yield part, chapter, " ".join(turn)
                    turn = []
                turn.append(line)
            yield part, chapter, " ".join(turn)


def speaker_utterances(text: str | None = None) -> list[Utterance]:
    """The turns of Don Quijote and Sancho that a tag names reliably, in the novel's order.

    `text` defaults to `load_text("quijote")`; its chapters are found by their headings
    ("Capítulo XII. …"), and the numbering restarting at "Capítulo primero" starts part 2.
    """
    if text is None:
        from course_utils.data import load_text

        text = load_text("quijote")
    found = []
    for part, chapter, turn in _turns(text.replace("\r\n", "\n")):
        labelled = _label(turn)
        if labelled is not None:
            speaker, spoken, tag = labelled
            found.append(Utterance(spoken, speaker, part, chapter, tag))
    return found


def chapter_split(utterances: list[Utterance], test_fraction: float = 0.2,
                  seed: int = 0) -> tuple[list[Utterance], list[Utterance]]:
    """(train, test) by chapter: no chapter has utterances on both sides.

    Chapters are shuffled with `seed` and moved to the test side until it holds at
    least `test_fraction` of the utterances; the order inside each side is the novel's.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction debe estar entre 0 y 1 (sin incluirlos), no {test_fraction!r}.")
    chapters = sorted({u.chapter_id for u in utterances})
    if len(chapters) < 2:
        raise ValueError("Hacen falta utterances de al menos dos capítulos para separar por capítulo.")
    random.Random(seed).shuffle(chapters)
    test_chapters: set[tuple[int, int]] = set()
    size = {c: 0 for c in chapters}
    for u in utterances:
        size[u.chapter_id] += 1
    for c in chapters[:-1]:  # at least one chapter stays for training
        if sum(size[t] for t in test_chapters) >= test_fraction * len(utterances):
            break
        test_chapters.add(c)
    return ([u for u in utterances if u.chapter_id not in test_chapters],
            [u for u in utterances if u.chapter_id in test_chapters])
