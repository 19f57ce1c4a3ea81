"""The named checks an answer must pass before it is shown, in the order they run.

Each returns a `Check` (name, passed, value, threshold, reason); all of them are recorded on
`Answer.checks`, in the JSON and in `rag eval`'s results, and the first that fails is the reason given
for abstaining. The thresholds are fitted on training material by eval/fit_abstention.py, which reads
these records. A check named in `Settings.advisory_checks` is still run and recorded but does not decide.

| check | fails when |
|---|---|
| retrieval | no passage, nor a sentence shown to the model, is close enough to the question |
| answered | the model says the context does not answer |
| supported | no sentence of the draft is supported by the evidence shown (rag/answering/cite.py) |
| informative | what the supported sentences say, the question already said ("Robert led against Dyrrachium") |
| kind | a when / how-many question is answered without a date or a number |
| question_facts | a name or number the question gives is in none of the passages retrieved |
| answer_check | asked whether the context states the answer, the model does not confirm it |
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

import Stemmer

from rag.answering.cite import ASKS_YES_NO, answers_the_kind_asked, is_refusal, names, stated
from rag.text import content_words, numbers
from rag.types import Check

_STEM = Stemmer.Stemmer("english").stemWord


def retrieval(closeness: float, threshold: float, shown_anything: bool, found_anything: bool) -> Check:
    passed = closeness >= threshold
    reason = "" if passed else (
        f"no passage is close to the question (best score {closeness:.2f})" if shown_anything
        else "every sentence of the passages reads as an instruction, and was withheld" if found_anything
        else "no passage was found")  # fmt: skip
    return Check("retrieval", passed, round(closeness, 4), threshold, reason)


def answered(draft: str) -> Check:
    passed = bool(draft.strip()) and not is_refusal(draft)
    return Check("answered", passed, reason="" if passed else "the model found no answer in the passages")


def supported(best_support: float, any_supported: bool, threshold: float) -> Check:
    """`any_supported`: a sentence reached the threshold and states only numbers and names its evidence does."""
    reason = "" if any_supported else "no sentence of the draft answer is supported by the passages"
    return Check("supported", any_supported, round(best_support, 4), threshold, reason)


_NEGATION = re.compile(r"\b(not|no|never|none|nor)\b|n[’']t\b", re.IGNORECASE)


_CHOICE = re.compile(r"\b(\w+)\s+or\s+(\w+)\b", re.IGNORECASE)


def _negations(text: str) -> set[str]:
    """ "not" when the text negates: a stopword elsewhere, but "Beijing is not likely to comply" answers "Is Beijing
    likely to comply?" with that word alone."""
    return {"not"} if _NEGATION.search(text) else set()


def informative(question: str, answer: str) -> Check:
    """The answer must say something the question did not: a content word of its own (stems compared, and a
    word spelt nearly as one of the question's, "led" for "lead", is the question's; a negation counts). A
    sentence made of the question's words is supported by any passage the question matches, and answers nothing;
    to a yes/no question, it is the answer "yes" (its verdict dropped)."""
    asked = {_STEM(w) for w in content_words(question)} | _negations(question)
    said = {_STEM(w) for w in content_words(answer)} | _negations(answer)
    new = {
        w
        for w in said - asked  # "not" is spelt nearly as "note": a negation is never the question's word
        if w.isdigit() or w == "not" or not any(SequenceMatcher(None, w, a).ratio() >= 0.8 for a in asked)
    }
    choice = _CHOICE.search(question)  # "Is it abstract or concrete?": naming one of them is the answer
    if ASKS_YES_NO.match(question) and not choice:  # "Is Mirabel the capital?" "Mirabel is the capital.": it is
        new = new or {"yes"}
    if choice and not new:
        picked = {_STEM(w) for w in content_words(answer)} & {_STEM(w.lower()) for w in choice.groups()}
        new = picked if len(picked) == 1 else new
    passed = bool(new) or not answer.strip()
    return Check("informative", passed, float(len(new)), 1.0,
                 "" if passed else "the answer only repeats the question")  # fmt: skip


def kind(question: str, answer: str) -> Check:
    passed = answers_the_kind_asked(question, answer)
    return Check("kind", passed, reason="" if passed else "the answer does not state the date or quantity asked for")


def question_facts(question: str, evidence: list[str]) -> Check:
    """The names and numbers the question gives must be stated by the passages retrieved for it: a question
    about a person, a year or a place they never mention asks about something they do not say, however close
    the rest of it comes (SQuAD 2.0's unanswerable questions are often a true one with a name or date changed).
    value: the share of them stated (1.0 when the question gives none)."""
    text = " ".join(evidence)
    words, stated_numbers = content_words(text), numbers(text, spelled=True)
    stems = {_STEM(w) for w in words}  # "Marry" (a capitalised verb) is stated by "married"
    asked_numbers = numbers(question)  # as digits: a question's "one" is a pronoun as often as a number
    asked_names = names(question)
    missing = sorted(n for n in asked_numbers if n not in stated_numbers)
    missing += sorted(n for n in asked_names if not stated(n, words) and _STEM(n) not in stems)
    given = len(asked_numbers) + len(asked_names)
    share = 1.0 - len(missing) / given if given else 1.0
    reason = "" if not missing else f"the passages found never mention {', '.join(missing)}"
    return Check("question_facts", not missing, round(share, 4), 1.0, reason)


def answer_check(p_yes: float, threshold: float) -> Check:
    passed = p_yes >= threshold
    reason = (
        ""
        if passed
        else (f"asked whether the passages state the answer, the model did not confirm it (P(yes) {p_yes:.2f})")
    )
    return Check("answer_check", passed, round(p_yes, 4), threshold, reason)


def first_failure(checks: list[Check], advisory: frozenset[str] | set[str] = frozenset()) -> Check | None:
    """The check that decides an abstention: the first failed one that is not advisory."""
    return next((c for c in checks if not c.passed and c.name not in advisory), None)
