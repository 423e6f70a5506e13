"""Trains a PyTorch captioning model with torch.optim.Adam, on the CPU."""

import torch

from .coco_utils import sample_coco_minibatch


class CaptioningSolverPytorch(object):
    """
    A CaptioningSolverPytorch encapsulates all the logic necessary for training
    PyTorch image captioning models.

    To train a model, you will first construct a CaptioningSolverPytorch instance,
    passing the model, dataset, and various options (learning rate, batch size,
    etc) to the constructor. You will then call the train() method to run the
    optimization procedure and train the model.

    After the train() method returns, the instance variable solver.loss_history
    will contain a list of all losses encountered during training.

    Example usage might look something like this:

    data = load_coco_data()
    model = MyAwesomeModel(hidden_dim=100)
    solver = CaptioningSolverPytorch(model, data,
                    learning_rate=1e-3,
                    num_epochs=10, batch_size=100,
                    print_every=100)
    solver.train()

    A CaptioningSolverPytorch works on a model object that must conform to the
    following API:

    - model.params must be a dictionary mapping string parameter names to torch
      tensors containing parameter values.

    - model.loss(features, captions) must be a function that computes the
      training-time loss, with the following inputs and outputs:

      Inputs:
      - features: Tensor giving a minibatch of features for images, of shape (N, D)
      - captions: Integer tensor of captions for those images, of shape (N, T)
        where each element is in the range [0, V).

      Returns:
      - loss: Scalar tensor giving the loss; autograd computes the gradients.
    """

    def __init__(self, model, data, **kwargs):
        """
        Construct a new CaptioningSolverPytorch instance.

        Required arguments:
        - model: A model object conforming to the API described above
        - data: A dictionary of training and validation data from load_coco_data

        Optional arguments:
        - learning_rate: Learning rate of the Adam optimizer.
        - batch_size: Size of minibatches used to compute loss and gradient during
          training.
        - num_epochs: The number of epochs to run for during training.
        - print_every: Integer; training losses will be printed every print_every
          iterations.
        - verbose: Boolean; if set to false then no output will be printed during
          training.
        """
        self.model = model
        self.data = data

        # Unpack keyword arguments
        self.learning_rate = kwargs.pop('learning_rate', 0.001)
        self.batch_size = kwargs.pop('batch_size', 100)
        self.num_epochs = kwargs.pop('num_epochs', 10)
        self.print_every = kwargs.pop('print_every', 10)
        self.verbose = kwargs.pop('verbose', True)

        # Throw an error if there are extra keyword arguments
        if len(kwargs) > 0:
            extra = ', '.join('"%s"' % k for k in list(kwargs.keys()))
            raise ValueError('Unrecognized arguments %s' % extra)

        self.optim = torch.optim.Adam(list(model.params.values()), self.learning_rate)
        self._reset()

    def _reset(self):
        """
        Set up some book-keeping variables for optimization. Don't call this
        manually.
        """
        self.epoch = 0
        self.loss_history = []

    def _step(self):
        """
        Make a single gradient update. This is called by train() and should not
        be called manually.
        """
        # Make a minibatch of training data
        captions, features, _ = sample_coco_minibatch(
            self.data, batch_size=self.batch_size, split='train')
        captions = torch.from_numpy(captions).long()
        features = torch.from_numpy(features)

        # Compute loss, let autograd compute the gradients, and make an update
        loss = self.model.loss(features, captions)
        self.optim.zero_grad()
        loss.backward()
        self.optim.step()
        self.loss_history.append(loss.item())

    def train(self):
        """
        Run optimization to train the model.
        """
        for v in self.model.params.values():
            v.requires_grad_()

        num_train = self.data['train_captions'].shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch

        for t in range(num_iterations):
            self._step()

            # Maybe print training loss
            if self.verbose and t % self.print_every == 0:
                print('(Iteration %d / %d) loss: %f' % (
                    t + 1, num_iterations, self.loss_history[-1]))

            # At the end of every epoch, increment the epoch counter.
            if (t + 1) % iterations_per_epoch == 0:
                self.epoch += 1

        for v in self.model.params.values():
            v.requires_grad_(False)
