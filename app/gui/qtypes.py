"""Type aliases for Qt's item-view API, shared by the models and their delegates."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex

# What Qt hands a model's or a delegate's method as "an index": either kind.
AnyIndex = QModelIndex | QPersistentModelIndex
