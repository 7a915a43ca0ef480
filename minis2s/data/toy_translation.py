"""A toy translation task, English -> a regular Spanish, generated from a small lexicon: word-level
text whose alignment crosses, as a real language pair's does, without downloading a corpus.

Every sentence is  subject verb object .  with each noun phrase  determiner [adjective] noun:

    the red cat sees some old dogs .   ->   el gato rojo ve unos perros viejos .
    an apple has the new books .       ->   una manzana tiene los libros nuevos .

What the model has to learn: the adjective moves after its noun (the crossing), determiner and
adjective agree with the noun's gender and number (el/la/los/las, un/una/unos/unas,
rojo/roja/rojos/rojas), and the verb agrees with the subject's number (sees/see -> ve/ven). The
Spanish is kept regular on purpose (every plural adds -s, no personal "a" before animate
objects), so the task is about word order and agreement, not a lexicon's exceptions.
"""

from __future__ import annotations

import numpy as np

# (English singular, Spanish singular, gender); every plural adds -s in both languages
NOUNS = (
    ("cat", "gato", "m"), ("dog", "perro", "m"), ("bird", "pájaro", "m"), ("cow", "vaca", "f"),
    ("house", "casa", "f"), ("table", "mesa", "f"), ("book", "libro", "m"), ("girl", "niña", "f"),
    ("boy", "niño", "m"), ("apple", "manzana", "f"), ("horse", "caballo", "m"),
    ("window", "ventana", "f"), ("car", "coche", "m"), ("chair", "silla", "f"),
    ("friend", "amigo", "m"), ("frog", "rana", "f"), ("duck", "pato", "m"), ("goat", "cabra", "f"),
)  # fmt: skip
# (English, Spanish masculine singular in -o): the other forms change the ending
ADJECTIVES = (
    ("red", "rojo"), ("black", "negro"), ("white", "blanco"), ("small", "pequeño"),
    ("tall", "alto"), ("new", "nuevo"), ("old", "viejo"), ("pretty", "bonito"), ("fat", "gordo"),
    ("tired", "cansado"),
)  # fmt: skip
# (English singular, English plural, Spanish singular, Spanish plural): present tense, 3rd person
VERBS = (
    ("sees", "see", "ve", "ven"), ("eats", "eat", "come", "comen"),
    ("wants", "want", "quiere", "quieren"), ("finds", "find", "encuentra", "encuentran"),
    ("has", "have", "tiene", "tienen"), ("buys", "buy", "compra", "compran"),
    ("paints", "paint", "pinta", "pintan"), ("washes", "wash", "lava", "lavan"),
    ("follows", "follow", "sigue", "siguen"), ("draws", "draw", "dibuja", "dibujan"),
)  # fmt: skip
# (English, Spanish) determiners by (definite, plural) and the Spanish noun's gender
DETERMINERS = {
    (True, False): ("the", {"m": "el", "f": "la"}),
    (True, True): ("the", {"m": "los", "f": "las"}),
    (False, False): ("a", {"m": "un", "f": "una"}),
    (False, True): ("some", {"m": "unos", "f": "unas"}),
}


def noun_phrase(noun: int, adjective: int, definite: bool, plural: bool) -> tuple[str, str]:
    """(English, Spanish) of determiner [adjective] noun; adjective -1 is none."""
    en_noun, es_noun, gender = NOUNS[noun]
    en_det, es_dets = DETERMINERS[(definite, plural)]
    s = "s" if plural else ""
    en, es = [en_det], [es_dets[gender], es_noun + s]
    if adjective >= 0:
        en_adj, es_adj = ADJECTIVES[adjective]
        en.append(en_adj)
        es.append(es_adj[:-1] + ("o" if gender == "m" else "a") + s)  # agrees with the noun
    en.append(en_noun + s)
    if en[0] == "a" and en[1][0] in "aeiou":
        en[0] = "an"  # an old cat, an apple
    return " ".join(en), " ".join(es)


def sentences(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """n (English, Spanish) sentence pairs, every choice drawn uniformly; an adjective in half
    of the noun phrases."""
    nouns = rng.integers(0, len(NOUNS), size=(n, 2))
    adjectives = np.where(rng.random((n, 2)) < 0.5, rng.integers(0, len(ADJECTIVES), (n, 2)), -1)
    definite, plural = rng.random((n, 2)) < 0.5, rng.random((n, 2)) < 0.5
    verbs = rng.integers(0, len(VERBS), size=n)
    pairs = []
    for k in range(n):
        (en_s, es_s), (en_o, es_o) = (
            noun_phrase(int(nouns[k, j]), int(adjectives[k, j]), bool(definite[k, j]),
                        bool(plural[k, j]))
            for j in (0, 1)
        )  # fmt: skip
        en_sg, en_pl, es_sg, es_pl = VERBS[verbs[k]]
        en_v, es_v = (en_pl, es_pl) if plural[k, 0] else (en_sg, es_sg)  # agrees with the subject
        pairs.append((f"{en_s} {en_v} {en_o} .", f"{es_s} {es_v} {es_o} ."))
    return pairs
