"""Replies: what a person wrote now (`extraction`: quoted history, signature and disclaimer
removed), what it means (`intents`: the default rule-based classifier over the vocabulary in
`cues` and its stem `families`, the opt-in statistical backstop in `model`, plug-in loading, the
never-raising `classify_raw`) and how well (`accuracy`)."""
