"""The graded items: what each calls, what it returns, what it depends on.

Points, thresholds and which items count come from the assignment TOML; this
registry holds the structure that does not change between courses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Functions that travel together: when one fails its item, the grader's versions of
# the whole group stand in for them inside later items, so a bug is charged once.
GROUPS = [("rnn_step_forward", "rnn_step_backward"), ("rnn_forward", "rnn_backward"),
          ("word_embedding_forward", "word_embedding_backward"),
          ("temporal_affine_forward", "temporal_affine_backward"), ("temporal_softmax_loss",)]
LAYERS = [name for group in GROUPS for name in group]


@dataclass(frozen=True)
class Item:
    name: str
    kind: str  # layer | model_loss | sample | overfit | manual
    forward: str | None = None  # the function called first
    backward: str | None = None  # called with the forward's own cache
    outputs: tuple = ()  # names of the values compared
    wrt: tuple = ()  # forward argument indices a numeric gradient is taken for
    returns_cache: bool = True
    deps: tuple = ()  # items whose failure puts the grader's functions in their place
    hints: dict = field(default_factory=dict)


REGISTRY = [
    Item("rnn_step_forward", "layer", "rnn_step_forward", outputs=("next_h",),
         hints={"next_h": "next_h = tanh(x Wx + prev_h Wh + b); check the bias and the activation"}),
    Item("rnn_step_backward", "layer", "rnn_step_forward", "rnn_step_backward",
         outputs=("dx", "dprev_h", "dWx", "dWh", "db"), wrt=(0, 1, 2, 3, 4),
         hints={"*": "the tanh derivative is 1 - next_h**2, taken at the output, not the pre-activation",
                "db": "db sums over the batch axis (axis 0)"}),
    Item("rnn_forward", "layer", "rnn_forward", outputs=("h",), deps=("rnn_step_forward", "rnn_step_backward"),
         hints={"h": "each step must start from the previous step's hidden state (h0 only at t=0)"}),
    Item("rnn_backward", "layer", "rnn_forward", "rnn_backward",
         outputs=("dx", "dh0", "dWx", "dWh", "db"), wrt=(0, 1, 2, 3, 4),
         deps=("rnn_step_forward", "rnn_step_backward"),
         hints={"*": "at each step add the upstream dh[:, t] to the gradient carried back from step t+1"}),
    Item("word_embedding_forward", "layer", "word_embedding_forward", outputs=("out",),
         hints={"out": "out[n, t] = W[x[n, t]]"}),
    Item("word_embedding_backward", "layer", "word_embedding_forward", "word_embedding_backward",
         outputs=("dW",), wrt=(1,),
         hints={"dW": "repeated word ids must accumulate (np.add.at), and dW has W's shape even when ids are unused"}),
    Item("temporal_affine_forward", "layer", "temporal_affine_forward", outputs=("out",)),
    Item("temporal_affine_backward", "layer", "temporal_affine_forward", "temporal_affine_backward",
         outputs=("dx", "dw", "db"), wrt=(0, 1, 2),
         hints={"db": "db sums over both the batch and the time axes", "dw": "dw sums over batch and time"}),
    Item("temporal_softmax_loss", "layer", "temporal_softmax_loss", outputs=("loss", "dx"), wrt=(0,),
         returns_cache=False,
         hints={"*": "sum the masked losses over time and divide by N (not by mask.sum() or N*T)"}),
    Item("CaptioningRNN.loss", "model_loss", outputs=("loss",), deps=tuple(LAYERS),
         hints={"*": "mask = captions_out != self._null; the loss ignores <NULL> targets"}),
    Item("CaptioningRNN.sample", "sample", deps=tuple(LAYERS)),
    Item("overfit_small_data", "overfit", deps=tuple(LAYERS)),
    Item("inline_question_1", "manual"),
]
BY_NAME = {item.name: item for item in REGISTRY}


def substitutes(item, failed):
    """Names of the student's functions to replace by the grader's for ``item``."""
    names = []
    for group in GROUPS:
        if any(name in failed for name in group if name in item.deps):
            names.extend(group)
    return names
