"""The weighted full-text document of a module: name (A), summary (B), description (C),
tags and keywords (D), kept by Postgres as a generated column."""

SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('simple', coalesce(display_name, '') || ' ' || "
    "coalesce(replace(technical_name, '_', ' '), '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(short_description, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'C') || "
    "setweight(jsonb_to_tsvector('simple', coalesce(tags, '[]'::jsonb) || "
    "coalesce(keywords, '[]'::jsonb), '[\"string\"]'), 'D')"
)
