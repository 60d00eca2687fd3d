"""Key integrity of a synthetic database: foreign keys found in their parent, unique primary keys."""


def foreign_key_matches(tables, metadata):
    """Per relationship, how many foreign-key values (not missing) are found in the parent.

    Args:
        tables (dict[str, pandas.DataFrame]): the database.
        metadata (sdv.metadata.Metadata): its metadata with relationships.

    Returns:
        list[tuple[dict, int, int]]: ``(relationship, found, total)`` per relationship.
    """
    matches = []
    for relation in metadata.relationships:
        keys = tables[relation['child_table_name']][relation['child_foreign_key']].dropna()
        parents = set(tables[relation['parent_table_name']][relation['parent_primary_key']])
        matches.append((relation, int(keys.isin(parents).sum()), len(keys)))
    return matches


def referential_integrity(tables, metadata):
    """Share of foreign-key values (not missing) found among their parent's primary keys.

    Args:
        tables (dict[str, pandas.DataFrame]): the synthetic database.
        metadata (sdv.metadata.Metadata): its metadata with relationships.

    Returns:
        float: in [0, 1]; ``nan`` without foreign-key values.
    """
    matches = foreign_key_matches(tables, metadata)
    valid = sum(found for _, found, _ in matches)
    total = sum(count for _, _, count in matches)
    return valid / total if total else float('nan')


def unique_primary_keys(tables, metadata):
    """Whether every table's (single-column) primary key is unique.

    Args:
        tables (dict[str, pandas.DataFrame]): the database.
        metadata (sdv.metadata.Metadata): its metadata.

    Returns:
        bool
    """
    return all(bool(tables[name][table.primary_key].is_unique)
               for name, table in metadata.tables.items()
               if isinstance(table.primary_key, str) and name in tables)
