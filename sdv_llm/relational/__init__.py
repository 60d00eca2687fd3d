"""Relational synthesis: child rows generated per parent row, and foreign keys between tables.

``children`` holds the children-sequence model (``ChildrenLM``, imports torch); ``keys`` the
relationships, the conditioning-parent rule and key assignment (no torch, so that
``import sdv``, which loads the multi-table synthesizer through its entry point, stays light).
"""
