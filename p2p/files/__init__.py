"""Files, photos and videos: attachments of messages, and their transfer.

Modules::

    manifest    block size by file size, per-block BLAKE2b, the content id
    bitmap      which blocks of a file are verified on disk
    names       the rules for a file's name (no path, no NUL, no control characters)
    descriptor  the attachment a message carries: name, size, MIME, preview, content id
    media       a video's picture size, duration and preview frame (PyAV)
    sealing     files sealed at rest with the data key, record by record (sans-IO)
    disk        content-addressed files under the profile folder, partial files
    protocol    the wire messages of the transfer protocol (``f*`` tags)
    transfer    one download: which block to ask of whom, verifying what arrives
    hashing     block hashes checked, and what arrives sealed and written, on a thread
    base        what the parts of the feature share (state, entitlement, events)
    serving     answering ``fq`` and ``fget``: blocks to entitled devices
    fetching    downloads: start, pause, cancel, pull, write, check, finish
    feature     the feature (``Files``): descriptors in messages, sending (and pausing
                a send), the API

``manifest``, ``bitmap``, ``names``, ``descriptor``, ``protocol``, ``transfer`` and
``sealing`` are sans-IO. The loop's thread decrypts and encrypts the channel; the
hashing thread hashes, seals and writes what arrives; the serving side reads and unseals
blocks on a reader thread (hashlib and PyNaCl release the GIL), so both cores work.
"""
