"""What other tools read: the gradebook, Canvas's CSV, Gradescope's results and zip."""
