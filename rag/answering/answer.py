"""Answer a question from retrieved passages, in named steps over one Evidence object:

    parse (question.py) → prepare (evidence.py) → prompt (prompt.py) → the checks that read no draft
    → write (the model streams a draft, each sentence checked as it is written) → verify (verify.py) → Answer

The small local models do not reliably refuse (MODELS.md), so the system decides: the draft is aligned
to the evidence, then it passes the named checks of rag/answering/checks.py in order (retrieval,
answered, supported, informative, kind, question_facts, answer_check), each recorded on `Answer.checks`; the
first that fails makes the answer "The documents don't say." with its reason, and the closest passages.
The answer is one or two complete sentences that name what was asked: a chatbot's reader needs the
claim, not a span, and a whole sentence can be checked against the sentence it rests on.
The caller's Stopwatch times the steps (the pipeline owns it: rag/pipeline.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from rag.answering import checks
from rag.answering.checks import CheckList
from rag.answering.cite import BULLET
from rag.answering.evidence import Evidence, prepare
from rag.answering.prompt import Prompts, answer_messages
from rag.answering.question import parse
from rag.answering.verify import Verdict, before_writing, verify
from rag.models.embed import Embedder
from rag.models.generate import Generator, Messages
from rag.settings import Settings
from rag.stopwatch import Stopwatch
from rag.text import sentences
from rag.types import Answer, Checked, Passage

ABSTAIN_TEXT = "The documents don't say."


def write(generator: Generator, messages: Messages, max_new_tokens: int, clock: Stopwatch) -> Iterator[str]:
    """The model's draft as it streams; the first piece marks the first token."""
    first = True
    for piece in generator.stream(messages, max_new_tokens):
        if first and piece:
            clock.mark("first_token")
            first = False
        yield piece


def answer(
    asked: str,
    query: str,
    passages: list[Passage],
    embedder: Embedder,
    generator: Generator,
    settings: Settings,
    clock: Stopwatch,
) -> Iterator[str | Checked | Answer]:
    """Yield the draft's text deltas while the model writes, its sentences as they pass their checks
    (`Checked`, each time one more is shown), then one final Answer with checked citations, which decides.
    `asked`: the question as the user asked it; `query`: as answered (a follow-up rewritten standalone).
    With `check_while_writing`, the checks that read no draft (question_facts, answer_check) run before the
    model writes: no sentence is shown that they would withdraw, and when one fails nothing is written; without,
    they run after the draft (the answer check then reuses the draft's prompt cache) and nothing is shown early.
    With `settings.checks.every_check`, every check runs and is recorded even after one failed (for fitting the
    thresholds on what each would have read); the answer is decided the same way."""
    checklist = CheckList(settings.checks)
    with clock.step("evidence"):
        evidence = prepare(parse(query, settings.answering.complete_answers), passages, embedder, settings.answering)
    checklist.add(
        checks.retrieval(evidence.relevance, settings.checks.min_retrieval_score, bool(evidence.shown), bool(passages))
    )
    if not evidence.shown or not checklist.go_on():
        yield ABSTAIN_TEXT
        yield compose(asked, query, passages, checklist, Verdict(), clock)
        return
    messages = answer_messages(evidence)
    check = _one_fact_prompt(evidence, embedder, settings) if evidence.question.complete else messages
    prompts = Prompts(messages, check)
    early = settings.answering.check_while_writing  # sentences are shown as they are checked
    if early:
        with clock.step("check"):
            before_writing(evidence, prompts, generator, settings.checks, checklist)
        if not checklist.go_on():
            yield ABSTAIN_TEXT
            yield compose(asked, query, passages, checklist, Verdict(), clock)
            return
    draft, shown, released = "", "", ""  # all written; its whole sentences checked; what they showed
    with clock.step("generate"):
        for piece in write(generator, messages, settings.answering.max_new_tokens, clock):
            draft += piece
            yield piece
            done = complete_sentences(draft) if early else 0
            # a sentence more is written: check what is written so far, once its form is settled
            if done > len(shown) and settled(draft[:done], evidence.question.complete):
                shown = draft[:done]
                preview = checklist.copy()
                verdict = verify(evidence, shown, prompts, embedder, settings.checks, preview, final=False)
                if preview.deciding is None and verdict.text != released:
                    if not released:
                        clock.mark("first_checked")
                    released = verdict.text
                    yield Checked(compose(asked, query, passages, preview, verdict, clock))
    if not early:  # after the draft, the answer check reads its prompt from the draft's cache (the shared prefix)
        with clock.step("check"):
            before_writing(evidence, prompts, generator, settings.checks, checklist)
    with clock.step("verify"):
        verdict = verify(evidence, draft, prompts, embedder, settings.checks, checklist)
    yield compose(asked, query, passages, checklist, verdict, clock)


def settled(written: str, complete: bool) -> bool:
    """Whether the form of an answer written so far is settled, so the sentences shown of it only ever grow: a list
    once two items are written (verify makes a list of two items or more), prose where no item is and no list is
    asked for (a why / how / list question's answer may still become one)."""
    items = len(BULLET.findall(written))
    return items >= 2 or (items == 0 and not complete)


def added(shown: str, checked: Checked) -> str:
    """What a face that showed `shown` shows of the sentences `checked` so far: what they add ("" when nothing,
    or when they are not an extension of what was shown: the final Answer then says so, after_checked)."""
    text = checked.answer.answer
    return text.removeprefix(shown) if text.startswith(shown) else ""


def after_checked(answer: Answer, shown: str) -> str:
    """What a face that showed the checked sentences `shown` while they were written (rag.types.Checked) shows
    once the answer is final: the rest of it (the note that the sources disagree, say); or, where the checks of
    the whole answer overrule what was shown, a notice saying so, then the answer as given."""
    if not shown:
        return answer.answer
    if not answer.abstained and answer.answer.startswith(shown):
        return answer.answer.removeprefix(shown)
    if answer.abstained:
        overruled = f"Withdrawn ({answer.abstain_reason}): the checks of the whole answer overrule the sentences above."
        return f"\n\n[{overruled}]\n{answer.answer}"
    return f"\n\n[Revised: the whole answer, as checked:]\n{answer.answer}"


def complete_sentences(draft: str) -> int:
    """How much of a draft still being written is whole sentences: up to the end of its last sentence but one
    (the last may go on)."""
    spans = sentences(draft)
    return spans[-2].end if len(spans) >= 2 else 0


def _one_fact_prompt(evidence: Evidence, embedder: Embedder, settings: Settings) -> Messages:
    """The prompt a one-fact question on these passages gets (its `top_k` passages, its `evidence_words`): what
    the answer check of a why / how / list question reads, since the check's thresholds were fitted on P(Yes)
    read after it. Read after the longer list prompt, P(Yes) ran higher, and unanswerable why / how questions of
    SQuAD 2.0 were answered that the fit abstains on."""
    one_fact = parse(evidence.question.text, complete_answers=False)
    passages = evidence.passages[: settings.answering.top_k]
    return answer_messages(prepare(one_fact, passages, embedder, settings.answering))


def compose(
    asked: str, query: str, passages: list[Passage], checklist: CheckList, verdict: Verdict, clock: Stopwatch
) -> Answer:
    """The Answer: the verdict's text and citations, or an abstention with the deciding check's reason."""
    failed = checklist.deciding
    text, citations = (ABSTAIN_TEXT, []) if failed is not None else (verdict.text, verdict.citations)
    return Answer(
        question=asked,
        answer=text,
        abstained=failed is not None,
        citations=citations,
        sentences=verdict.sentences,
        passages=passages,
        timings_ms=clock.timings(),
        abstain_reason=failed.reason if failed else "",
        rewritten_question=query if query != asked else "",
        answer_check=checklist.value("answer_check"),
        relevance=checklist.value("retrieval"),
        checks=list(checklist.done),
    )
