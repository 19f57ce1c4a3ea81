"""Answer → cite → check: the question-closest evidence (evidence), the prompt and the stream (answer), citations
aligned to evidence (cite), the named checks (checks), disagreeing sources (conflict) and follow-ups rewritten
(followup)."""
