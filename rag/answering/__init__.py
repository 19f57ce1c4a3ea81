"""Answer → cite → check, as named steps over one Evidence object: parse the question (question), prepare the
evidence (evidence), build the prompt (prompt), write and compose (answer), verify the draft (verify: citations
aligned by cite, the named checks of checks, disagreeing sources by conflict); follow-ups rewritten (followup)."""
