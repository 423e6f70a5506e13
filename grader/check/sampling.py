"""Judge greedy sampling by replaying the student's words through the reference.

At each step the student's word must be one the reference scores highest, given
the student's own previous words; a near tie accepts either word. Everything
after a row's first <END> is ignored, so stopping early or not both pass. <NULL>
words are judged like any other: the reference itself may pick them.
"""
import numpy as np

from reference.rnn_layers import affine_forward, lstm_step_forward, rnn_step_forward

from .compare import greedy_words_check

TIE = 1e-8


def _start(params, features):
    """The decoder's first state: the projected features and an empty cell."""
    h, _ = affine_forward(features, params["W_proj"], params["b_proj"])
    return h, np.zeros_like(h)


def _step(params, prev, h, c, cell_type):
    """One step of the reference's decoder after word ids ``prev``: (scores of the next word, h, c)."""
    x = params["W_embed"][prev]
    if cell_type == "lstm":
        h, c, _ = lstm_step_forward(x, h, c, params["Wx"], params["Wh"], params["b"])
    else:
        h, _ = rnn_step_forward(x, h, params["Wx"], params["Wh"], params["b"])
    scores, _ = affine_forward(h, params["W_vocab"], params["b_vocab"])
    return scores, h, c


def _scores_along(params, features, words, start, cell_type):
    """Reference scores at every step when ``words`` are fed back (teacher forcing)."""
    h, c = _start(params, features)
    prev = np.full(features.shape[0], start)
    out = []
    for t in range(words.shape[1]):
        scores, h, c = _step(params, prev, h, c, cell_type)
        out.append(scores)
        prev = np.clip(words[:, t], 0, params["W_embed"].shape[0] - 1)
    return out


def _greedy_after(params, features, prefix, words, max_length, cell_type):
    """The reference's greedy word ids for one image (``features`` of shape (1, D)) that continue
    ``prefix``, through <END> or ``max_length``."""
    h, c = _start(params, features)
    out, prev = [], words["<START>"]
    for t in range(max_length):
        scores, h, c = _step(params, np.array([prev]), h, c, cell_type)
        prev = prefix[t] if t < len(prefix) else int(np.argmax(scores[0]))
        out.append(prev)
        if prev == words["<END>"]:
            break
    return out


def _through_end(ids, end):
    """``ids`` up to and including the first ``end``."""
    ids = list(ids)
    return ids[:ids.index(end) + 1] if end in ids else ids


def first_caption(params, features, captions, n, t, words, cell_type):
    """results.json's ``caption`` of a failed sample check: row ``n``'s words (the student's, and the
    reference's greedy ones after the same first ``t`` words) through <END>, and the ``step`` ``t``
    where they first differ."""
    id_to_word = {i: w for w, i in words.items()}
    got = _through_end(map(int, captions[n]), words["<END>"])
    expected = _greedy_after(params, features[n:n + 1], got[:t], words, captions.shape[1], cell_type)
    return {"row": n, "step": t, "got": [id_to_word.get(i, "#%d" % i) for i in got],
            "expected": [id_to_word.get(i, "#%d" % i) for i in expected]}


def check_sample(case, captions, cell_type="rnn"):
    """The check of ``captions``: at each step, a word the reference scores highest (to a near tie)
    after the student's own previous words; a failed check carries its first wrong row."""
    init, params = case.extra["init"], {k: np.asarray(v, np.float64) for k, v in case.extra["params"].items()}
    words = init["word_to_idx"]
    features = np.asarray(case.args[0], np.float64)
    max_length = case.extra["max_length"] or 30
    scores = []

    def best_word(n, t, word):
        if not scores:  # the student's captions passed the shape ladder: replay them
            scores.extend(_scores_along(params, features, np.asarray(captions), words["<START>"], cell_type))
        row = scores[t][n]
        best = int(np.argmax(row))
        right = 0 <= word < row.size and row[word] >= row[best] - TIE * (1 + abs(row[best]))
        return None if right else best

    check, first = greedy_words_check("%s: greedy words vs reference" % case.name, case.visibility, captions,
                                      features.shape[0], max_length, case.extra["max_length"], words, best_word)
    if first:
        check.caption = first_caption(params, features, np.asarray(captions), *first, words, cell_type)
    return check
