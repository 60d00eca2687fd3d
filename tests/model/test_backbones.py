"""The backbone registry: kinds are picked from the settings, and a new kind is one class."""

import pickle

import pytest

from sdv_llm.model import backbones
from sdv_llm.model.backbone import BackboneConfig
from sdv_llm.model.backbones import (
    BACKBONES,
    EmbeddedBackbone,
    PretrainedBackbone,
    backbone_for,
    backbone_kind,
    register_backbone,
)
from sdv_llm.tabular_lm import TabularLM, TabularLMConfig
from tests.helpers.tables import linear_table

METADATA = {'x': {'sdtype': 'numerical'}, 'y': {'sdtype': 'numerical'},
            'kind': {'sdtype': 'categorical'}}


def test_kinds_from_the_backbone_setting(tmp_path):
    assert backbone_kind(TabularLMConfig()) == 'embedded'
    assert backbone_kind(TabularLMConfig(backbone='default')) == 'embedded'
    assert backbone_kind(TabularLMConfig(backbone=str(tmp_path))) == 'pretrained'
    assert BACKBONES == {'embedded': EmbeddedBackbone, 'pretrained': PretrainedBackbone}
    with pytest.raises(ValueError, match='could not|not a|does not'):
        backbone_for(TabularLMConfig(backbone=str(tmp_path)))  # an empty directory


def test_register_refuses_what_is_not_a_backbone():
    with pytest.raises(ValueError, match='Backbone subclass'):
        register_backbone(dict)


class OneLayer(EmbeddedBackbone):
    """A new kind: the embedded decoder with one layer of width 16, whatever the table."""

    kind = 'one-layer'

    def size(self, num_rows, serializer, config):
        self.config = BackboneConfig(16, 1, 2, 0.0)


@pytest.fixture
def one_layer_kind(monkeypatch):
    monkeypatch.setattr(backbones, 'BACKBONES', dict(BACKBONES))
    return register_backbone(OneLayer)


def test_a_registered_kind_is_built_trained_and_pickled(one_layer_kind, tmp_path):
    data = linear_table(200)
    config = TabularLMConfig(backbone='one-layer', epochs=1, enable_gpu=False, random_state=0,
                             privacy=False)
    lm = TabularLM(config).fit(data, METADATA)
    assert isinstance(lm.backbone, one_layer_kind)
    assert lm.model.config.n_layer == 1 and lm.model.config.n_embd == 16
    sampled = lm.sample(30)
    assert len(sampled) == 30
    again = pickle.loads(pickle.dumps(lm))
    assert again.model.config.n_layer == 1
    assert again.sample(5).shape == (5, 3)
    lm.save_files(tmp_path)
    loaded = TabularLM.load_files(tmp_path)
    assert isinstance(loaded.backbone, one_layer_kind)
    assert loaded.model.config.n_layer == 1
    assert loaded.sample(5).shape == (5, 3)
