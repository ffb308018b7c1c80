"""Tests for course_utils.quijote: who speaks, Don Quijote or Sancho.

Hand-made passages in the layout of Project Gutenberg's text (wrapped lines, em dashes,
blank lines between paragraphs, chapter headings) cover each pattern; the real novel
(its packaged copy) checks the counts and the chapter split.
"""

from __future__ import annotations

import statistics

import pytest

from course_utils.quijote import Utterance, _roman, _speaker_of, _spoken, chapter_split, speaker_utterances

PASSAGE = """\
Prólogo

— Decid —le repliqué yo— lo que os parezca.

Primera parte del ingenioso hidalgo don Quijote de la Mancha

Capítulo primero. Que trata de la condición y ejercicio del famoso hidalgo
don Quijote de la Mancha

En un lugar de la Mancha vivía un hidalgo. Dijo un día don Quijote a Sancho
que saldrían al campo, y Sancho respondió que sí.

— Cualquiera yantaría yo —respondió don Quijote—, porque, a lo que entiendo,
me haría mucho al caso.

— Dios lo haga como puede —respondió Sancho Panza.

— ¿"Miente", delante de mí, ruin villano? —dijo don Quijote—. Por el sol que
nos alumbra, que os pasaré de parte a parte.

— No esperaba yo menos de la gran magnificencia vuestra, señor mío
— respondió don Quijote—; y así, os digo que el don que os he pedido es éste.

— Eso no consentiré yo en ningún modo —dijo el cura—: estése vuestra merced
a caballo.

— Pues ¿qué se ha de hacer? —dijo el cura a don Quijote.

— Andad con Dios —dijo don Quijote a Sancho.

— Así es —dijo Sancho—, y no hay más que decir.
— ¿Tan malas obras te hago, Sancho —respondió don Quijote—, que me querrías
ver muerto?

— Eso digo yo —respondió Teresa Panza.

— ¡Majadero! —dijo a esta sazón don Quijote—, a los caballeros andantes no
les toca averiguar nada.

— Sea así —dijo Sancho—. Mas yo —prosiguió— no me moveré de aquí.

— Bien está —dijo el duque, y don Quijote calló.

— Lo que yo digo —replicó Panza— es que vuestra merced no me entiende.

Capítulo II. Que trata de la primera salida

— Ya voy —respondió Sancho, mirando a su amo.

Segunda parte del ingenioso caballero don Quijote de la Mancha

— Esto no es de ningún capítulo —dijo Sancho.

Capítulo Primero. De lo que el cura y el barbero pasaron

— Por ahora basta —dijo don Quijote.
"""

EXPECTED = [  # (speaker, part, chapter, text, tag)
    ("quijote", 1, 1, "Cualquiera yantaría yo, porque, a lo que entiendo, me haría mucho al caso.",
     "respondió don Quijote"),
    ("sancho", 1, 1, "Dios lo haga como puede", "respondió Sancho Panza"),
    ("quijote", 1, 1, "¿\"Miente\", delante de mí, ruin villano? Por el sol que nos alumbra, que os pasaré de "
     "parte a parte.", "dijo don Quijote"),
    ("quijote", 1, 1, "No esperaba yo menos de la gran magnificencia vuestra, señor mío; y así, os digo que el don "
     "que os he pedido es éste.", "respondió don Quijote"),
    ("sancho", 1, 1, "Así es, y no hay más que decir.", "dijo Sancho"),
    ("quijote", 1, 1, "¿Tan malas obras te hago, Sancho, que me querrías ver muerto?", "respondió don Quijote"),
    ("quijote", 1, 1, "¡Majadero! a los caballeros andantes no les toca averiguar nada.",
     "dijo a esta sazón don Quijote"),
    ("sancho", 1, 1, "Sea así. Mas yo no me moveré de aquí.", "dijo Sancho"),
    ("sancho", 1, 1, "Lo que yo digo es que vuestra merced no me entiende.", "replicó Panza"),
    ("sancho", 1, 2, "Ya voy", "respondió Sancho, mirando a su amo"),
    ("quijote", 2, 1, "Por ahora basta", "dijo don Quijote"),
]


pytestmark = pytest.mark.usefixtures("offline_texts")  # the texts come from the packaged copies


def test_hand_made_passage_gives_exactly_the_reliable_turns():
    found = speaker_utterances(PASSAGE)
    assert [(u.speaker, u.part, u.chapter, u.text, u.tag) for u in found] == EXPECTED
    assert all(isinstance(u, Utterance) and "—" not in u.text for u in found)


def test_windows_line_ends_give_the_same_turns():
    assert speaker_utterances(PASSAGE.replace("\n", "\r\n")) == speaker_utterances(PASSAGE)


@pytest.mark.parametrize("tag, speaker", [
    ("dijo don Quijote", "quijote"),
    ("respondió Sancho", "sancho"),
    ("replicó Sancho Panza", "sancho"),
    ("le dijo don Quijote", "quijote"),
    ("tornó a decir Sancho", "sancho"),
    ("dijo, en viéndole, don Quijote", "quijote"),
    ("respondió con mucha cólera don Quijote (y arrojóle)", "quijote"),
    ("dijo don Quijote a Sancho", "quijote"),  # _label then drops it: the other one is named
    ("dijo el cura", None),
    ("dijo el cura a don Quijote", None),  # the addressee, not the speaker
    ("respondió su amo", None),  # a title, not a name
    ("respondió Teresa Panza", None),  # Sancho's wife
    ("respondió Juana Panza, que así se llamaba la mujer de Sancho", None),
    ("dijo el del Bosque, en oyendo el hideputa de Sancho", None),
    ("dijo con voz doliente el dolorido Sancho", None),  # another subject could hide behind "el"
    ("antes que otro respondiese, dijo Sancho", None),  # does not start with the verb
    ("que pocas veces se dejan mal pasar", None),  # an aside, not a tag
    ("prosiguió", ""),  # a bare verb: the same speaker goes on
])
def test_speaker_of_a_tag(tag, speaker):
    assert _speaker_of(tag) == speaker


def test_spoken_text_joins_the_pieces_around_the_tags():
    assert _spoken(["Yo ", ", porque sí."]) == "Yo, porque sí."
    assert _spoken(["¿Quién? ", ". Nadie."]) == "¿Quién? Nadie."
    assert _spoken(["Dios lo haga ", ""]) == "Dios lo haga"
    assert _spoken(["Decid ", ": ¿de qué\n modo?"]) == "Decid: ¿de qué modo?"


@pytest.mark.parametrize("numeral, number", [("primero", 1), ("Primero", 1), ("I", 1), ("IV", 4), ("IX", 9),
                                             ("XIV", 14), ("XL", 40), ("XLIX", 49), ("LII", 52), ("LXXIV", 74)])
def test_roman_chapter_numbers(numeral, number):
    assert _roman(numeral) == number


@pytest.fixture(scope="module")
def novel() -> list[Utterance]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_OFFLINE", "1")
        mp.delenv("COURSE_DATA_MIRROR", raising=False)
        return speaker_utterances()


def test_real_novel_counts_and_lengths(novel):
    per_speaker = {s: [u for u in novel if u.speaker == s] for s in ("quijote", "sancho")}
    assert 560 <= len(per_speaker["quijote"]) <= 640  # measured: 601
    assert 560 <= len(per_speaker["sancho"]) <= 640  # measured: 598
    for group in per_speaker.values():
        assert 28 <= statistics.median(u.words for u in group) <= 42  # measured: 34 and 35
    assert {u.part for u in novel} == {1, 2}
    assert all(1 <= u.chapter <= (52 if u.part == 1 else 74) for u in novel)
    assert all(u.text and "—" not in u.text and "\n" not in u.text for u in novel)
    first = novel[0]
    assert (first.part, first.chapter, first.speaker) == (1, 2, "quijote")
    assert first.text.startswith("Cualquiera yantaría yo")


def test_chapter_split_keeps_chapters_on_one_side(novel):
    train, test = chapter_split(novel, test_fraction=0.2, seed=0)
    train_chapters, test_chapters = {u.chapter_id for u in train}, {u.chapter_id for u in test}
    assert not train_chapters & test_chapters
    assert sorted(train + test, key=novel.index) == novel and len(train) + len(test) == len(novel)
    assert 0.2 <= len(test) / len(novel) <= 0.3
    assert {u.speaker for u in test} == {"quijote", "sancho"}
    assert chapter_split(novel, 0.2, seed=0) == (train, test)  # deterministic
    assert chapter_split(novel, 0.2, seed=1)[1] != test


def test_chapter_split_errors():
    found = speaker_utterances(PASSAGE)
    with pytest.raises(ValueError, match="test_fraction debe estar entre 0 y 1"):
        chapter_split(found, test_fraction=1.0)
    with pytest.raises(ValueError, match="al menos dos capítulos"):
        chapter_split([u for u in found if u.chapter_id == (1, 1)])
    train, test = chapter_split(found, test_fraction=0.9)
    assert train and test  # at least one chapter stays for training
