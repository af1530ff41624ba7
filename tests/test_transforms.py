"""Tests for the text transformations in utils.py and WordNet provisioning in pipeline/wordnet.py.

Golden outputs live in tests/data/transform_golden.json and are compared exactly.
After an intentional change to a transformation, regenerate them with

    python tests/test_transforms.py --regen

and review the diff of the JSON file before committing.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import re
import sys
from pathlib import Path

import datasets
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import utils  # noqa: E402
from pipeline import wordnet as pwn  # noqa: E402

GOLDEN_PATH = Path(__file__).resolve().parent / "data" / "transform_golden.json"

REVIEW = (
    "I went into this movie expecting a masterpiece. It's not. The story is boring and the "
    "actors never seem to care about their characters.<br /><br />Mr. Smith plays the father, "
    "and he doesn't do a terrible job, but the dialogue is awful and the ending is predictable. "
    "I do not recommend it. The music was beautiful, though, and the photography of the old "
    "city is wonderful. Still, I cannot forgive the script. We are told nothing about the "
    "villain, and the final scene makes no sense.<br /><br />Overall a disappointing film: "
    "3 out of 10. Don't waste your money!"
)
TEXT_TRANSFORMS = [n for n, (_, default) in utils.TRANSFORMS.items() if default is not None]
RANDOM_TRANSFORMS = TEXT_TRANSFORMS + ["custom_transform"]  # all but the deterministic toy
EDGE_INPUTS = [
    "",
    "!!! ... ??? -- ;;",
    "Amélie was naïve 😀 but the café scenes are lovely. Crème brûlée! 👍",
    "<br /><br />",
    "<br />Not bad at all!<br /><br />I would not watch it again.<i>Never</i>",
    "   \n\t  ",
]
TAG_RE = re.compile(r"<[^<>]+>")
NEG_WORDS = {"not", "no", "never", "nothing", "cannot", "nor", "none", "without"}


def negation_tokens(text: str) -> list[str]:
    """Negation tokens in order (lower-cased), including n't-contractions."""
    return [t.lower() for t in utils.tokenize(text)
            if t.lower() in NEG_WORDS or t.lower().endswith("n't")]


def apply(name, text, strength=None, seed=0, **extra):
    return utils.get_transform(name, strength, seed)({"text": text, "label": 1, **extra})


# ----------------------------------------------------------------------------- golden

GOLDEN_INPUTS = [
    REVIEW,
    "The acting was superb and the plot kept me guessing.<br /><br />I wouldn't change a thing!",
    "Terrible. Just terrible. I can't believe I wasted two hours on this GARBAGE movie.",
    # three paragraphs, opening with the verdict: the shape opening_last reorders
    "One of the warmest comedies I have seen in years, and I didn't expect it.<br /><br />Mary Jones plays a "
    "baker who inherits a failing shop from her aunt and has to win over a suspicious little town.<br /><br />"
    "The supporting cast is lovely, especially the postman, and the jokes land without ever being cruel.",
]
# opening_last reorders reviews of >= 3 paragraphs whose last one is no conclusion (REVIEW ends "Overall ... 3 out
# of 10", so it stays); its property tests use the golden input of that shape
# verdict_aside hedges only a verdict ("8/10", "I recommend it"), which REVIEW's paragraphs do not end with
SHAPED_INPUT = {"opening_last": GOLDEN_INPUTS[3],
                "verdict_aside": "Two brothers drive cattle to Kansas.<br /><br />I recommend it to anyone who likes "
                                 "westerns.<br /><br />All in all, a fine film. 8/10."}


def golden_cases() -> list[dict]:
    cases = []
    for name in utils.TRANSFORM_NAMES:
        strengths = [None] if name not in TEXT_TRANSFORMS else [None, 0.5]
        for strength in strengths:
            for seed in (0, 1):
                for text in GOLDEN_INPUTS:
                    cases.append({"name": name, "strength": strength, "seed": seed, "input": text,
                                  "expected": apply(name, text, strength, seed)["text"]})
    return cases


def test_golden_cases_match_exactly():
    cases = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))
    assert len(cases) >= 40
    assert {c["name"] for c in cases} == set(utils.TRANSFORM_NAMES)
    for c in cases:
        got = apply(c["name"], c["input"], c["strength"], c["seed"])["text"]
        assert got == c["expected"], f"{c['name']} strength={c['strength']} seed={c['seed']}"


# ----------------------------------------------------------------------------- registry / API


def test_registry_names_and_defaults():
    names = utils.TRANSFORM_NAMES
    assert names == list(utils.TRANSFORMS)
    for required in ("synonym", "typo", "custom_transform", "example_transform"):
        assert required in names
    assert len(TEXT_TRANSFORMS) >= 5
    for name in TEXT_TRANSFORMS:
        function, default = utils.TRANSFORMS[name]
        assert 0 < default <= 1
        assert function.__doc__ and len(function.__doc__) > 100, f"{name} needs a motivating docstring"


def test_unknown_name_raises_with_valid_names():
    with pytest.raises(ValueError) as err:
        utils.get_transform("nope")
    for name in utils.TRANSFORM_NAMES:
        assert name in str(err.value)
    with pytest.raises(ValueError):
        utils.get_transform("custom_transform", strength=0.5)
    with pytest.raises(ValueError):
        utils.get_transform("typo", strength=-1)


@pytest.mark.parametrize("strength", [-0.1, 1.5, 2])
def test_strength_outside_unit_interval_is_rejected(strength):
    ds = datasets.Dataset.from_dict({"text": ["a fine film"], "label": [1]})
    for call in (lambda: utils.get_transform("typo", strength),
                 lambda: utils.transform_dataset(ds, "synonym", strength)):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            call()


def test_one_registry_every_transformation_is_a_public_text_function():
    for name in TEXT_TRANSFORMS:
        function, _ = utils.TRANSFORMS[name]
        assert getattr(utils, function.__name__) is function and function.__name__ in utils.__all__
        assert function("", random.Random(0), 1.0) == "" and function(REVIEW, random.Random(0), 0.0) == REVIEW
    assert not hasattr(utils, "_TOKEN_STAGES")
    # custom_transform is the composition of its stages, applied to one token list with one rng
    ex = {"text": REVIEW, "label": 0}
    rng = random.Random(f"3:custom_transform:{REVIEW}")
    tokens = utils.tokenize(REVIEW)
    for name, strength in utils.CUSTOM_STAGES:
        utils.TRANSFORMS[name][0].__wrapped__(tokens, rng, strength)
    assert utils.custom_transform(ex, seed=3)["text"] == "".join(tokens)


@pytest.mark.parametrize("name", utils.TRANSFORM_NAMES)
def test_get_transform_is_picklable(name):
    fn = utils.get_transform(name, seed=3)
    fn2 = pickle.loads(pickle.dumps(fn))
    ex = {"text": REVIEW, "label": 0}
    assert fn2(ex) == fn(ex)


def test_example_and_custom_transform_direct_calls():
    ex = {"text": "Hello World <br />", "label": 1}
    assert utils.example_transform(ex) == {"text": "hello world <br />", "label": 1}
    assert ex["text"] == "Hello World <br />"  # input not mutated
    out = utils.custom_transform({"text": REVIEW, "label": 0}, seed=5)
    assert out["label"] == 0 and out["text"] != REVIEW
    assert out == utils.get_transform("custom_transform", seed=5)({"text": REVIEW, "label": 0})


# ----------------------------------------------------------------------------- properties


@pytest.mark.parametrize("name", utils.TRANSFORM_NAMES)
def test_other_keys_untouched_and_text_changes(name):
    text = SHAPED_INPUT.get(name, REVIEW)
    ex = {"text": text, "label": 1, "idx": 7, "meta": {"a": 1}}
    outs = [utils.get_transform(name, seed=seed)(ex) for seed in range(3)]
    for out in outs:
        assert set(out) == set(ex)
        assert out["label"] == 1 and out["idx"] == 7 and out["meta"] == {"a": 1}
    assert ex["text"] == text, "input example must not be mutated"
    # per-word probabilities: a given seed may leave this 35-content-word review alone (typo 0.1: 2.5%), three not
    assert any(out["text"] != text for out in outs), f"{name} did not change a normal review at default strength"


@pytest.mark.parametrize("name", utils.TRANSFORM_NAMES)
@pytest.mark.parametrize("text", EDGE_INPUTS)
def test_edge_inputs(name, text):
    out = apply(name, text)["text"]
    assert isinstance(out, str)
    assert TAG_RE.findall(out) == TAG_RE.findall(text)
    if not text.strip():
        assert out == text
    for word in ("amélie", "naïve", "😀", "👍", "café", "brûlée"):
        if word in text.lower():
            assert word in out.lower(), f"{name} damaged non-ASCII token {word!r}"


def test_tokenize_is_lossless_and_tags_atomic():
    for text in EDGE_INPUTS + GOLDEN_INPUTS:
        assert "".join(utils.tokenize(text)) == text
    toks = utils.tokenize("a<br />b <i>c</i> don't 😀")
    assert "<br />" in toks and "<i>" in toks and "</i>" in toks and "don't" in toks


@pytest.mark.parametrize("name,strength", [(n, s) for n in RANDOM_TRANSFORMS for s in (None, 1.0)
                                           if n in TEXT_TRANSFORMS or s is None])
def test_negations_and_tags_untouched(name, strength):
    for seed in range(3):
        out = apply(name, REVIEW, strength, seed)["text"]
        assert TAG_RE.findall(out) == TAG_RE.findall(REVIEW)
        # contraction/social may rewrite "do not" <-> "don't" / "dont": same number of negations
        assert utils.count_negations(out) == utils.count_negations(REVIEW) == 8
        if name not in ("contraction", "social"):
            assert negation_tokens(out) == negation_tokens(REVIEW)


@pytest.mark.parametrize("name", RANDOM_TRANSFORMS)
def test_deterministic_and_seed_dependent(name):
    text = SHAPED_INPUT.get(name, REVIEW)
    strength = 0.5 if name == "opening_last" else None  # one decision per review: certain at its default 1.0
    a = apply(name, text, strength, seed=0)["text"]
    assert apply(name, text, strength, seed=0)["text"] == a
    outs = {apply(name, text, strength, seed=s)["text"] for s in range(8)}
    assert len(outs) > 1, f"{name}: different seeds should give different outputs"


@pytest.mark.parametrize("name", TEXT_TRANSFORMS)
def test_strength_zero_is_identity(name):
    for text in GOLDEN_INPUTS + EDGE_INPUTS:
        assert apply(name, text, 0.0)["text"] == text


def test_no_global_rng_use():
    random.seed(12345)
    state = random.getstate()
    for name in utils.TRANSFORM_NAMES:
        apply(name, REVIEW, seed=9)
    for name in TEXT_TRANSFORMS:
        utils.TRANSFORMS[name][0](REVIEW, random.Random(1), 1.0)
    assert random.getstate() == state


# ----------------------------------------------------------------------------- synonym


def test_synonym_candidates_come_from_the_reviewed_table():
    assert utils._synonym_candidates("movie") == ("film",)
    assert utils._synonym_candidates("movies") == ("films",)  # inflected alike
    assert utils._synonym_candidates("awful") == ("terrible",)
    for protected in ("not", "never", "very", "extremely", "the", "good", "bad", "great", "funny", "could"):
        assert utils._synonym_candidates(protected) == ()
    assert utils._synonym_candidates("ending") == ()  # not in the table: left alone
    assert utils._synonym_candidates("beginning") == ()  # verb form that is also a noun: "from the starting"


def test_synonym_table_is_reviewed_and_not_rarer():
    from wordfreq import zipf_frequency

    table = json.loads(utils.SYNONYM_TABLE_PATH.read_text())
    assert table["entries"] and table["reviewed_rejections"] and "Review" in table["rules"]
    for entry in table["entries"]:
        for cand in entry["candidates"]:
            assert zipf_frequency(cand, "en") >= zipf_frequency(entry["lemma"], "en"), (entry["lemma"], cand)
            assert f"{entry['lemma']} -> {cand}" not in table["reviewed_rejections"]
            assert cand not in utils.STOPWORDS | utils.NEGATIONS


def test_synonym_inflection_agrees():
    """Every surface form maps to the same inflection (lemminflect tag) of its replacement."""
    from lemminflect import getAllInflections, getInflection

    table = json.loads(utils.SYNONYM_TABLE_PATH.read_text())
    for entry in table["entries"]:
        tags = getAllInflections(entry["lemma"], upos=entry["pos"])
        for cand, forms in entry["candidates"].items():
            for surface, target in forms.items():
                surface_tags = [t for t, ss in tags.items() if surface in ss] or ["base"]
                assert surface == entry["lemma"] and target == cand or any(
                    target in getInflection(cand, tag=t) for t in surface_tags if t != "base"), (surface, target)
    rng = random.Random(0)
    assert utils.synonym_replace("It began with kids and movies.", rng, 1.0) == "It started with children and films."


def test_synonym_fixes_articles_and_keeps_case_names_hyphens_and_phrases():
    out = utils.synonym_replace("an awful movie. An awful plot. a seemingly easy job.", random.Random(0), 1.0)
    assert out == "a terrible film. A terrible plot. an apparently easy job."
    kept = ("Movie night with Awful Smith, a B movie, film noir, an awful lot, not nearly enough, "
            "movie-goers and awful-looking sets, more difficult scenes, MOVIE.")
    assert utils.synonym_replace(kept, random.Random(0), 1.0) == kept


def test_no_article_mismatch_introduced():
    forms = sorted(utils._synonym_table()[0])
    text = " ".join(f"It was a {w} and an {w}." for w in forms)
    for seed in range(3):
        out = utils.custom_transform({"text": text, "label": 1}, seed=seed, stages=(("synonym", 1.0),))["text"]
        before = re.findall(r"\b(an?) (\w+)", text)
        after = re.findall(r"\b(an?) (\w+)", out)
        assert len(before) == len(after)
        for (art0, w0), (art1, w1) in zip(before, after):
            if w1 != w0:
                assert art1 == utils._article_for(w1), (art0, w0, art1, w1)


def test_synonym_changes_roughly_strength_fraction():
    words = ["awful", "movie", "superb", "writer", "perhaps", "eventually"] * 50
    text = " ".join(words)
    out = utils.synonym_replace(text, random.Random(0), 0.3)
    changed = sum(a != b for a, b in zip(words, out.split()))
    assert 0.2 * len(words) < changed < 0.4 * len(words)


# ----------------------------------------------------------------------------- typo / noise

CONTENT_WORDS = ("wonderful acting throughout performances scenery dialogue terrible director soundtrack "
                 "brilliant boring watching characters believable").split()


def _one_edit_kind(word: str, typo: str) -> str | None:
    if typo[0] != word[0]:
        return None
    if len(typo) == len(word):
        diff = [k for k in range(len(word)) if word[k] != typo[k]]
        if len(diff) == 1 and typo[diff[0]] in utils.QWERTY_NEIGHBOURS[word[diff[0]]]:
            return "neighbour"
        if len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == typo[diff[1]] and word[diff[1]] == typo[diff[0]]:
            return "swap"
    if len(typo) == len(word) - 1 and any(word[:k] + word[k + 1:] == typo for k in range(1, len(word))):
        return "drop"
    if len(typo) == len(word) + 1 and any(word[:k] + word[k] + word[k:] == typo for k in range(1, len(word))):
        return "double"
    return None


def test_typos_are_human_error_types_and_never_words():
    kinds = set()
    for seed in range(20):
        out = utils.keyboard_typos(" ".join(CONTENT_WORDS), random.Random(seed), 1.0).split()
        assert len(out) == len(CONTENT_WORDS)
        for word, typo in zip(CONTENT_WORDS, out):
            if typo != word:
                kind = _one_edit_kind(word, typo)
                assert kind, (word, typo)
                kinds.add(kind)
                assert typo not in utils._known_words(), f"{word} -> {typo} is a real word"
    assert kinds == {"neighbour", "drop", "double", "swap"}


def test_typos_skip_names_function_words_contractions_hyphens_and_short_words():
    text = ("Spielberg could also let it's middle-class movie-goers cry, but the end was not too bad. "
            "Would they? NEVER. 1984 was odd. Wonderful Acting. Their Dialogue.")
    for seed in range(10):
        assert utils.keyboard_typos(text, random.Random(seed), 1.0) == text


def test_qwerty_neighbour_table():
    nb = utils.QWERTY_NEIGHBOURS
    assert set(nb["g"]) == set("tyfhvb") and set(nb["q"]) == set("wa") and set(nb["m"]) == set("njk")
    assert all(c in nb[d] for c in nb for d in nb[c])  # symmetric


def test_char_noise_keeps_first_and_last_letter():
    text = "absolutely wonderful performances everywhere"
    out = utils.char_noise(text, random.Random(2), 1.0)
    for w, v in zip(text.split(), out.split()):
        assert v != w and v[0] == w[0] and v[-1] == w[-1] and abs(len(v) - len(w)) <= 1


# ----------------------------------------------------------------------------- contraction / social / distractor


@pytest.mark.parametrize("text,expected", [
    ("I do not like it.", "I don't like it."),
    ("Don't go. I'm here.", "Do not go. I am here."),
    ("I cannot say", "I can't say"),
    ("It's been long.", "It's been long."),  # it has
    ("He'd go. John's car.", "He'd go. John's car."),  # 'd and possessive 's: ambiguous, never touched
    ("I have to admit it.", "I have to admit it."),  # "have to" is no auxiliary: never "I've to admit"
    ("I have seen it.", "I've seen it."),
    ("I know what it is. You are.", "I know what it is. You are."),  # nothing contracted at a clause end
    ("He's done it.", "He's done it."),  # he has
])
def test_contraction_only_where_english_allows_it(text, expected):
    assert utils.contraction_swap(text, random.Random(0), 1.0) == expected


def test_social_noise_keeps_words_and_numbers():
    text = "The Acting was GREAT! I don't know why. Really."
    out = utils.social_noise(text, random.Random(0), 1.0)
    assert out.lower().replace("'", "").replace("!", "").replace(".", "") == \
        text.lower().replace("'", "").replace("!", "").replace(".", "")
    assert "dont" in out and "!!" in out
    kept = "i gave it 7.75 out of 10, e.g. mr. smith"
    assert utils.social_noise(kept, random.Random(0), 1.0) == kept
    # initials keep their capitals (never "t.V." or "j. Edgar"); the words around them may lose theirs
    for seed in range(20):
        out = utils.social_noise("Saw it on T.V. with J. Edgar Hoover", random.Random(seed), 1.0)
        assert "T.V." in out and "J. " in out, out


def test_distractor_inserts_neutral_aside_at_paragraph_end():
    text = "Mr. Smith was great. I loved it! The end."
    out = utils.insert_distractor(text, random.Random(0), 1.0)
    inserted = [s for s in utils.DISTRACTOR_SENTENCES if s in out]
    assert len(inserted) == 1 and out == text + " " + inserted[0]  # one paragraph: one aside, at its end
    for s in utils.DISTRACTOR_SENTENCES:
        assert utils.count_negations(s) == 0
        assert not re.search(r"\b(watch|watched|saw|seen|rent|rented|dvd|theater|cinema)\b", s.lower())
    assert utils.insert_distractor("no sentence mark here", random.Random(0), 1.0) == "no sentence mark here"
    quoted = 'He said "it was great."<br /><br />Score: 7.5 (out of 10.)'
    assert utils.insert_distractor(quoted, random.Random(0), 1.0) == quoted  # never inside quotes or brackets


@pytest.mark.parametrize("paragraph, verdict", [
    ("He escapes from the island. Finally he wins the race.", False),  # plot summary: "finally" is no verdict
    ("The cast includes Rosemary La Planche and Blake Edwards.", False),  # cast list
    ("The acting was superb and the music beautiful.", False),  # plain praise: a hedge reads wrongly there
    ("All in all, a fine film. 8/10.", True),
    ("I would recommend it to anyone who likes westerns.", True),
    ("Skip this one.", True),
    ("A must-see!", True),
    ("I give it 3 out of 10.", True),
])
def test_verdict_aside_follows_only_a_verdict(paragraph, verdict):
    text = f"The story is set in Texas.<br /><br />{paragraph}"
    out = utils.verdict_aside(text, random.Random(0), 1.0)
    if not verdict:
        assert out == text
        return
    added = out[len(text):]
    assert out.startswith(text) and added.strip() in utils.VERDICT_ASIDES and added.startswith(" ")


def test_distractors_never_repeat_and_at_most_one_per_paragraph():
    paragraphs = [f"Paragraph {k} says something. It ends here." for k in range(12)]
    text = "<br /><br />".join(paragraphs)
    for seed in range(5):
        out = utils.insert_distractor(text, random.Random(seed), 1.0)
        parts = out.split("<br /><br />")
        assert len(parts) == len(paragraphs)
        counts = [sum(s in part for s in utils.DISTRACTOR_SENTENCES) for part in parts]
        assert max(counts) <= 1
        used = [s for s in utils.DISTRACTOR_SENTENCES if s in out]
        assert sum(counts) == len(used) == min(len(paragraphs), len(utils.DISTRACTOR_SENTENCES))
        assert all(out.count(s) == 1 for s in used)


def paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\s*(?:<br\s*/?>\s*)+", text) if p.strip()]


def test_opening_last_moves_the_opening_paragraph_and_keeps_everything_else():
    text = SHAPED_INPUT["opening_last"]
    out = utils.move_opening_last(text, random.Random(0), 1.0)
    before, after = paragraphs(text), paragraphs(out)
    assert after == before[1:] + before[:1]
    assert TAG_RE.findall(out) == TAG_RE.findall(text) and sorted(out) == sorted(text)
    assert utils.count_negations(out) == utils.count_negations(text)
    # layout kept: the separators (here " <br /> " and "<br /><br />") stay in their order between the paragraphs
    spaced = text.replace("<br /><br />Mary", " <br /> Mary")
    out = utils.move_opening_last(spaced, random.Random(0), 1.0)
    separators = re.compile(r"\s*(?:<br\s*/?>\s*)+")
    assert paragraphs(out) == after and separators.findall(out) == separators.findall(spaced) == [" <br /> ",
                                                                                                  "<br /><br />"]
    assert utils.move_opening_last(text, random.Random(0), 0.0) == text


@pytest.mark.parametrize("text", [
    # two paragraphs: no middle to open with
    "A warm and funny film that I loved.<br /><br />The cast is lovely and the jokes never turn cruel at all.",
    # an opening that announces what follows
    "Consider this:<br /><br />Mary Jones plays a baker in a small town.<br /><br />"
    "The supporting cast is lovely, especially the postman, and the jokes land.",
    # a second paragraph that leans on the opening
    "A warm film.<br /><br />But the plot is thin and slow.<br /><br />"
    "The supporting cast is lovely, especially the postman, and the jokes land.",
    "A warm film.<br /><br />He plays a baker in a small town.<br /><br />"
    "The supporting cast is lovely, especially the postman, and the jokes land.",
    # a last paragraph that concludes or rates, or is no full paragraph
    "A warm film.<br /><br />Mary Jones plays a baker.<br /><br />All in all a lovely comedy with a fine cast "
    "and jokes that land.",
    "A warm film.<br /><br />Mary Jones plays a baker.<br /><br />The cast is lovely and the jokes land well, "
    "I give it 8/10.",
    "A warm film.<br /><br />Mary Jones plays a baker.<br /><br />Recommended.",
])
def test_opening_last_leaves_reviews_whose_order_matters(text):
    assert utils.move_opening_last(text, random.Random(0), 1.0) == text


def test_mark_changes():
    assert utils.mark_changes("a b c", "a x c") == "a [[b -> x]] c"
    assert utils.mark_changes("a b", "a b c") == "a b [[ -> c]]"
    assert utils.mark_changes("a b c", "a c") == "a [[b -> ]] c"
    assert utils.mark_changes("same text", "same text") == "same text"


def test_custom_transform_depends_only_on_seed_and_text():
    texts = [REVIEW, GOLDEN_INPUTS[1], GOLDEN_INPUTS[2]]
    alone = [utils.custom_transform({"text": t, "label": 0}, seed=4)["text"] for t in texts]
    reordered = [utils.custom_transform({"text": t, "label": 1, "idx": 9}, seed=4)["text"] for t in texts[::-1]]
    assert reordered[::-1] == alone
    assert utils.custom_transform({"text": REVIEW, "label": 0}, seed=5)["text"] != alone[0]


# ----------------------------------------------------------------------------- datasets


def test_transform_dataset_keeps_labels_and_rows():
    texts = [REVIEW, GOLDEN_INPUTS[1], GOLDEN_INPUTS[2], "", "<br />"] * 8
    labels = [i % 2 for i in range(len(texts))]
    ds = datasets.Dataset.from_dict({"text": texts, "label": labels})
    out = utils.transform_dataset(ds, "custom_transform", seed=0)
    assert len(out) == len(ds) and out["label"] == labels and out.column_names == ds.column_names
    assert out["text"][0] != REVIEW
    assert out["text"] == [utils.custom_transform({"text": t, "label": 0})["text"] for t in texts]
    # two forked workers give the same result (picklable fn, shared WordNet)
    out2 = utils.transform_dataset(ds, "custom_transform", seed=0, num_proc=2)
    assert out2["text"] == out["text"] and out2["label"] == labels
    out3 = utils.transform_dataset(ds, "typo", strength=0.5, seed=1)
    assert out3["label"] == labels and out3["text"] != texts


# ----------------------------------------------------------------------------- WordNet provisioning

NEED_DEBIAN = pytest.mark.skipif(
    not pwn.debian_wordnet_available() and not os.environ.get("CI"),
    reason="Debian wordnet-base/wordnet-sense-index not installed (required when CI is set)",
)


def test_lexnames_format():
    lines = pwn.lexnames_text().splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3" and lines[1] == "01\tadj.pert\t3"
    assert lines[3] == "03\tnoun.Tops\t1" and lines[18] == "18\tnoun.person\t1"
    assert lines[29] == "29\tverb.body\t2" and lines[44] == "44\tadj.ppl\t3"
    for i, line in enumerate(lines):
        num, name, cat = line.split("\t")
        assert int(num) == i and {"adj": "3", "adv": "4", "noun": "1", "verb": "2"}[name.split(".")[0]] == cat


@NEED_DEBIAN
def test_build_wordnet_from_debian_into_temp_nltk_data(tmp_path, monkeypatch):
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader
    from nltk.corpus.util import LazyCorpusLoader

    monkeypatch.setenv("NLTK_DATA", str(tmp_path))
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    target = pwn.build_wordnet_from_debian()
    assert target == tmp_path / "corpora" / "wordnet"
    assert (target / "lexnames").read_text() == pwn.lexnames_text()
    assert not any(p.is_symlink() for p in target.iterdir())
    # load it the way nltk.corpus.wordnet does: found through nltk.data.path
    wn = LazyCorpusLoader("wordnet", WordNetCorpusReader, None)
    good = wn.synsets("good")
    assert good and good[0].name() == "good.n.01"
    assert "film" in wn.synset("movie.n.01").lemma_names()
    assert wn.synset("good.a.01").lexname() == "adj.all"
    assert wn.lemma("good.a.01.good").antonyms()[0].name() == "bad"
    assert wn.lemma("dog.n.01.dog").count() > 0  # cntlist.rev
    assert wn.lemma_from_key("dog%1:05:00::").synset().name() == "dog.n.01"  # index.sense
    assert wn.morphy("movies", "n") == "movie"  # exception lists + index


@NEED_DEBIAN
def test_ensure_wordnet_offline_route(tmp_path, monkeypatch):
    import nltk

    # NLTK_DATA set after nltk was imported (nltk.data.path does not hold it yet): ensure_wordnet puts the folder it
    # builds on the path, and must do so before NLTK 3.10's reader checks it (it looks the corpus up on the path)
    monkeypatch.setenv("NLTK_DATA", str(tmp_path))
    monkeypatch.setattr(nltk.data, "path", [p for p in nltk.data.path if p != str(tmp_path)])
    monkeypatch.setenv("NLTK_NO_DOWNLOAD", "1")
    monkeypatch.setattr(pwn, "_READY", False)
    # nltk.corpus.wordnet turns itself into a reader of the folder it loads from (this test's, which leaves the path
    # afterwards): give it back as it was, so that later tests do not read from here
    wordnet = nltk.corpus.wordnet
    monkeypatch.setattr(wordnet, "__dict__", dict(wordnet.__dict__))
    monkeypatch.setattr(wordnet, "__class__", wordnet.__class__)
    real = pwn._nltk_wordnet_works
    calls = []

    def fake_works():  # pretend NLTK's data is absent on the first probe
        calls.append(1)
        return False if len(calls) == 1 else real()

    monkeypatch.setattr(pwn, "_nltk_wordnet_works", fake_works)
    pwn.ensure_wordnet()
    assert (tmp_path / "corpora" / "wordnet" / "lexnames").is_file()
    assert pwn._READY and len(calls) >= 2 and nltk.data.path[0] == str(tmp_path)


def test_ensure_wordnet_error_names_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("NLTK_NO_DOWNLOAD", "1")
    monkeypatch.setattr(pwn, "_READY", False)
    monkeypatch.setattr(pwn, "_nltk_wordnet_works", lambda: False)
    monkeypatch.setattr(pwn, "DEBIAN_WORDNET_DIR", tmp_path / "absent")
    with pytest.raises(RuntimeError) as err:
        pwn.ensure_wordnet()
    assert "apt-get install -y wordnet-base wordnet-sense-index" in str(err.value)
    assert "nltk.downloader wordnet" in str(err.value)


def test_download_skipped_quickly_when_offline(monkeypatch):
    """The reachability probe gives up after REACHABILITY_TIMEOUT (a network that drops packets would otherwise
    hang nltk.download for minutes), and then no download is tried."""
    import socket

    import nltk

    monkeypatch.delenv("NLTK_NO_DOWNLOAD", raising=False)
    probes = []

    def dropped(address, timeout=None, *args, **kwargs):
        probes.append((address, timeout))
        raise socket.timeout("timed out")

    def no_download(*args, **kwargs):
        raise AssertionError("nltk.download must not run when the host is unreachable")

    monkeypatch.setattr(socket, "create_connection", dropped)
    monkeypatch.setattr(nltk, "download", no_download)
    assert pwn._try_download() is False
    assert probes == [(pwn.DOWNLOAD_HOST, pwn.REACHABILITY_TIMEOUT)]


if __name__ == "__main__":
    if "--regen" in sys.argv:
        cases = golden_cases()
        GOLDEN_PATH.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_PATH.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {len(cases)} golden cases to {GOLDEN_PATH}")
    else:
        print(__doc__)


def test_transformed_fingerprint_follows_what_the_rows_depend_on(monkeypatch):
    """Cached maps downstream (tokenization) are keyed on the fingerprint: it must change whenever the transformed
    rows could (a stale cache once served tokens of an older custom_transform)."""
    ds = datasets.Dataset.from_dict({"text": ["This film was really good , the acting was great ."] * 4,
                                     "label": [1] * 4})
    fingerprint = lambda *a, **k: utils.transform_dataset(ds, *a, **k)._fingerprint  # noqa: E731
    base = fingerprint("typo", 0.1, seed=0)
    assert base == fingerprint("typo", 0.1, seed=0)
    assert len({base, fingerprint("typo", 0.5, seed=0), fingerprint("typo", 0.1, seed=1),
                fingerprint("char_noise", 0.1, seed=0)}) == 4
    custom = fingerprint("custom_transform")
    monkeypatch.setattr(utils, "CUSTOM_STAGES", (("typo", 1.0),))
    assert fingerprint("custom_transform") != custom
    assert utils.transform_dataset(ds, "custom_transform")["text"][0] != ds["text"][0]


def test_stages_after_contraction_skip_the_tokens_it_empties():
    """contraction merges "do not" into one token and leaves two empty ones; later stages must skip them."""
    text = "I do not know what we are doing here. It is good.<br /><br />We are done."
    stages = (("contraction", 1.0), ("social", 1.0), ("typo", 1.0), ("distractor", 1.0))
    out = utils.custom_transform({"text": text, "label": 1}, seed=0, stages=stages)["text"]
    assert "don't" in out.replace("dont", "don't") and out.count("<br />") == 2
