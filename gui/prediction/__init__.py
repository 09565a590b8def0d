"""Prediction, evaluation and export from the application.

``install.install_prediction(services)`` adds the Prediction panel (run the active model on photos,
a live confidence slider), the Model menu's predict / evaluate actions and the evaluation dialog.
Torch is imported only inside the worker functions, when a model is needed.
"""
