"""What both SDV synthesizers share about model files: ``load`` and versioned pickles.

Kept free of heavy imports (``sdv_llm.persistence`` is imported when a method runs), so that
``import sdv``, which loads the synthesizers through the ``sdv_modules`` entry point, does not
import torch.
"""


class VersionedModelFiles:
    """Mixin: ``load`` of a model folder or pickle, and pickles that carry the package version."""

    @classmethod
    def load(cls, path):
        """Load a model folder (``save_pretrained``, safe) or a pickle written by ``save``.

        Pickles run code when loaded: load only pickles you trust.

        Raises:
            sdv_llm.persistence.ModelFileError: a missing path, a file that is not a model, or
                a file from another sdv_llm version (both versions named).
        """
        from sdv_llm.persistence import load

        return load(cls, path)

    def __getstate__(self):
        """Pickle state, with the sdv_llm version that wrote it (checked when loading)."""
        from sdv_llm.persistence import VERSION_KEY, package_version

        return {VERSION_KEY: package_version(), **self.__dict__}

    def __setstate__(self, state):
        from sdv_llm.persistence import VERSION_KEY, check_version

        saved = state.pop(VERSION_KEY, None)
        if saved is not None:
            migrate = check_version(saved, f'This {type(self).__name__} pickle')
            if migrate is not None:
                state = migrate(state)
        self.__dict__.update(state)
