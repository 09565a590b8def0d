"""Training and models in the application: the train dialog, the training run
in a child process (``process``, ``controller``), the training panel with live charts, the models
panel, and ``install.install_training(services)`` which puts them into the main window.
"""
