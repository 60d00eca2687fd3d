"""TabularLLM, the scikit-learn style front end."""

import pytest
from sdv.errors import SynthesizerInputError
from sklearn.base import clone

from sdv_llm import LLMSynthesizer, TabularLLM


def test_get_set_params_and_clone(tiny):
    estimator = TabularLLM(**tiny)
    assert estimator.get_params()['epochs'] == 2
    estimator.set_params(epochs=1)
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params() and copy is not estimator


def test_fit_detects_metadata_and_samples(iris, tiny):
    data, _ = iris
    estimator = TabularLLM(**tiny).fit(data)
    assert isinstance(estimator.synthesizer_, LLMSynthesizer)
    # every parameter reaches the synthesizer (backbone, lora, ... included)
    assert estimator.synthesizer_.get_parameters() == estimator.get_params()
    sampled = estimator.sample(30)
    assert len(sampled) == 30 and list(sampled.columns) == list(data.columns)


def test_invalid_parameter_raises_in_fit(iris):
    data, _ = iris
    with pytest.raises(SynthesizerInputError, match="'temperature'"):
        TabularLLM(temperature=-1).fit(data)


def test_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        TabularLLM(True)


def test_fit_with_a_checkpoint_folder(tmp_path):
    import pandas as pd

    from sdv_llm import TabularLLM

    data = pd.read_csv('tests/data/iris.csv')
    model = TabularLLM(epochs=2, batch_size=64, embedding_dim=16, num_layers=1, num_heads=2,
                       enable_gpu=False, random_state=0)
    model.fit(data, checkpoint_dir=tmp_path / 'ckpt')
    assert any((tmp_path / 'ckpt').iterdir())
    assert len(model.sample(10)) == 10
