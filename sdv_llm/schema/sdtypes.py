"""The sdtypes this project's SDV synthesizers model from raw values."""

#: ``_model_sdtype_transformers`` of an SDV synthesizer that takes raw values: rdt passes these
#: sdtypes through untransformed, so ``_fit`` sees and ``_sample`` returns the table's own
#: values. Keys and PII columns are still handled by SDV.
RAW_SDTYPE_TRANSFORMERS = {'numerical': None, 'datetime': None, 'categorical': None,
                           'boolean': None, 'ordinal': None}
