"""Engines: the local llama.cpp engine (in a child process) and, later, the remote API engine."""
