"""The engine service: one process owns a book; traders, windows, notebooks and scripts talk HTTP to it.

- :mod:`.app`: ``create_app(ServiceConfig)``, the FastAPI app (``papernb serve``);
- :mod:`.sequencer`: the one writer: commands and quotes in order, group commits on a writer thread;
- :mod:`.users`: users and hashed API tokens, kept in the book;
- :mod:`.schema`: the JSON the API speaks;
- :mod:`.cli`: ``papernb serve``, ``papernb users``, ``papernb backup``.

Importing this package needs the ``service`` extra (``pip install "papernb[service]"``).
"""
