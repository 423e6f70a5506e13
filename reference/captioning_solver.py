"""CS231n's CaptioningSolver: minibatch training of a captioning model."""
from . import optim
from .coco_utils import sample_coco_minibatch


class CaptioningSolver:
    """
    Train a captioning model with minibatch gradient descent.

    The model must have a params dict and loss(features, captions) -> (loss, grads)
    with grads keyed like params. The data dict is what load_coco_data returns.

    Example:
        solver = CaptioningSolver(model, data, update_rule='adam',
                                  optim_config={'learning_rate': 5e-3},
                                  lr_decay=0.95, num_epochs=50, batch_size=25)
        solver.train()
        solver.loss_history  # one loss per iteration
    """

    def __init__(self, model, data, **kwargs):
        """
        Construct a new CaptioningSolver instance.

        Required arguments:
        - model: A model object conforming to the API described above
        - data: A dictionary of training and validation data from load_coco_data

        Optional arguments:
        - update_rule: Name of an update rule in optim ('sgd' or 'adam'). Default 'sgd'.
        - optim_config: Hyperparameters passed to the update rule, e.g. learning_rate.
        - lr_decay: Every parameter's learning rate is multiplied by this after
          each epoch.
        - batch_size: Size of minibatches used to compute loss and gradient.
        - num_epochs: The number of epochs to run for during training.
        - print_every: Print the training loss every print_every iterations.
        - verbose: If False, print nothing during training.
        """
        self.model = model
        self.data = data

        self.update_rule = kwargs.pop('update_rule', 'sgd')
        self.optim_config = kwargs.pop('optim_config', {})
        self.lr_decay = kwargs.pop('lr_decay', 1.0)
        self.batch_size = kwargs.pop('batch_size', 100)
        self.num_epochs = kwargs.pop('num_epochs', 10)
        self.print_every = kwargs.pop('print_every', 10)
        self.verbose = kwargs.pop('verbose', True)

        if kwargs:
            raise ValueError('Unrecognized arguments %s' % ', '.join('"%s"' % k for k in kwargs))
        if not hasattr(optim, self.update_rule):
            raise ValueError('Invalid update_rule "%s"' % self.update_rule)
        self.update_rule = getattr(optim, self.update_rule)

        self._reset()

    def _reset(self):
        """Set up book-keeping and give every parameter its own copy of optim_config."""
        self.epoch = 0
        self.loss_history = []
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        """Make a single gradient update on a training minibatch."""
        captions, features, _ = sample_coco_minibatch(
            self.data, batch_size=self.batch_size, split='train')
        loss, grads = self.model.loss(features, captions)
        self.loss_history.append(loss)

        for p, w in self.model.params.items():
            next_w, self.optim_configs[p] = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w

    def train(self):
        """Run optimization to train the model."""
        num_train = self.data['train_captions'].shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch

        for t in range(num_iterations):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print('(Iteration %d / %d) loss: %f' % (t + 1, num_iterations,
                                                        self.loss_history[-1]))
            if (t + 1) % iterations_per_epoch == 0:
                self.epoch += 1
                for config in self.optim_configs.values():
                    config['learning_rate'] *= self.lr_decay
