-- tinydoi database schema: the one source of truth.
--
-- The file is a sequence of migrations, each introduced by a line `-- migration N`.
-- A database records the last migration it ran in `PRAGMA user_version`; opening it
-- runs the later ones in order, each in its own transaction. Never edit a migration
-- that has been released: append a new one.
-- Times are Unix seconds (INTEGER, UTC). Symbols are stored upper-case, DOIs lower-case.

-- migration 1
CREATE TABLE staff (
    symbol              TEXT PRIMARY KEY CHECK (symbol = 'ADMIN'),
    password_hash       BLOB NOT NULL,
    password_salt       BLOB NOT NULL,
    password_iterations INTEGER NOT NULL,
    created             INTEGER NOT NULL,
    updated             INTEGER NOT NULL
);

CREATE TABLE providers (
    symbol              TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    email               TEXT,
    password_hash       BLOB,
    password_salt       BLOB,
    password_iterations INTEGER,
    created             INTEGER NOT NULL,
    updated             INTEGER NOT NULL
);

CREATE TABLE clients (
    symbol              TEXT PRIMARY KEY,
    provider            TEXT NOT NULL REFERENCES providers (symbol),
    name                TEXT NOT NULL,
    email               TEXT,
    is_active           INTEGER NOT NULL DEFAULT 1,
    domains             TEXT NOT NULL DEFAULT '*',
    password_hash       BLOB,
    password_salt       BLOB,
    password_iterations INTEGER,
    created             INTEGER NOT NULL,
    updated             INTEGER NOT NULL
);
CREATE INDEX clients_provider ON clients (provider);

CREATE TABLE client_prefixes (
    prefix  TEXT PRIMARY KEY,
    client  TEXT NOT NULL REFERENCES clients (symbol),
    created INTEGER NOT NULL
);
CREATE INDEX client_prefixes_client ON client_prefixes (client);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    client       TEXT NOT NULL REFERENCES clients (symbol),
    name         TEXT NOT NULL,
    key_prefix   TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    created      INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    expires_at   INTEGER,
    rotated_from TEXT
);
CREATE INDEX api_keys_client ON api_keys (client, created);
-- Covers the key look-up of every request authenticated by key (hash → what it
-- needs), so a verification reads index pages only, however many keys there are.
CREATE INDEX api_keys_by_hash ON api_keys (key_hash, id, client, key_prefix, revoked_at, expires_at);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    client      TEXT,
    action      TEXT NOT NULL,
    api_key_id  TEXT,
    key_prefix  TEXT,
    remote_addr TEXT,
    created     INTEGER NOT NULL
);
CREATE INDEX audit_events_client ON audit_events (client, id);

CREATE TABLE dois (
    doi        TEXT PRIMARY KEY,
    client     TEXT NOT NULL REFERENCES clients (symbol),
    prefix     TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('draft', 'registered', 'findable')),
    url        TEXT,
    xml        BLOB,
    attributes TEXT,
    created    INTEGER NOT NULL,
    updated    INTEGER NOT NULL,
    registered INTEGER,
    updated_by TEXT
);
CREATE INDEX dois_client ON dois (client, created);
CREATE INDEX dois_state ON dois (state, created);

CREATE TABLE media (
    doi        TEXT NOT NULL REFERENCES dois (doi) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    url        TEXT NOT NULL,
    PRIMARY KEY (doi, position)
);

CREATE TABLE reports (
    id         TEXT PRIMARY KEY,
    client     TEXT NOT NULL REFERENCES clients (symbol),
    created_by TEXT NOT NULL,
    month      TEXT NOT NULL,
    header     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created    INTEGER NOT NULL,
    updated    INTEGER NOT NULL,
    UNIQUE (created_by, client, month)
);
CREATE INDEX reports_client ON reports (client, month);
CREATE INDEX reports_month ON reports (month);

CREATE TABLE datafiles (
    month   TEXT PRIMARY KEY,
    path    TEXT NOT NULL,
    records INTEGER NOT NULL,
    size    INTEGER NOT NULL,
    sha256  TEXT NOT NULL,
    created INTEGER NOT NULL
);

-- Server-wide secrets and settings (e.g. the data-file URL signing key).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- migration 2
-- Web console sign-ins. Only the SHA-256 of the cookie's token is stored, so a copy of
-- the database opens no session. `account` is the upper-case symbol (ADMIN, a provider
-- or a client); a session ends when idle too long, when too old, at sign-out and when
-- the account's password changes.
CREATE TABLE console_sessions (
    token_hash  BLOB PRIMARY KEY,
    account     TEXT NOT NULL,
    created     INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    remote_addr TEXT
);
CREATE INDEX console_sessions_account ON console_sessions (account);

-- migration 3
-- DOI state history, so that the monthly data file holds the DOIs findable *at* the
-- month's end (CONTRACT §10), not those findable now. Triggers record every state a DOI
-- takes, whichever code path wrote it, at the DOI's `updated` time.
CREATE TABLE doi_events (
    id    INTEGER PRIMARY KEY,
    doi   TEXT NOT NULL,
    state TEXT NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX doi_events_doi ON doi_events (doi, at);

CREATE TRIGGER doi_events_insert AFTER INSERT ON dois BEGIN
    INSERT INTO doi_events (doi, state, at) VALUES (NEW.doi, NEW.state, NEW.updated);
END;
CREATE TRIGGER doi_events_state AFTER UPDATE OF state ON dois WHEN OLD.state <> NEW.state BEGIN
    INSERT INTO doi_events (doi, state, at) VALUES (NEW.doi, NEW.state, NEW.updated);
END;
CREATE TRIGGER doi_events_delete AFTER DELETE ON dois BEGIN
    DELETE FROM doi_events WHERE doi = OLD.doi;
END;

-- Existing DOIs: their present state, since they were registered (findable and registered
-- ones) or last changed (drafts).
INSERT INTO doi_events (doi, state, at)
    SELECT doi, state, CASE WHEN state = 'draft' THEN updated ELSE COALESCE(registered, created) END FROM dois;

-- migration 4
-- What a read of a DOI shows that is derived from its attributes (`published`, the
-- default views of `publisher`, `creators`, `contributors`), computed when they are
-- written (`dois::resource::derived_text`) so that reads splice it. NULL: derive on read.
ALTER TABLE dois ADD COLUMN derived TEXT;
-- lupo's default list order is newest update first.
CREATE INDEX dois_updated ON dois (updated, doi);
CREATE INDEX dois_state_updated ON dois (state, updated);

-- migration 5
-- Limits of an API key (issue 19), each a space-separated list; NULL = no limit of that
-- kind, which is every key created before: scopes (`dois:read dois:write …`), DOI
-- prefixes, allowed networks (CIDR). Audit events about a key record its limits as they were.
ALTER TABLE api_keys ADD COLUMN scopes TEXT;
ALTER TABLE api_keys ADD COLUMN prefixes TEXT;
ALTER TABLE api_keys ADD COLUMN allowed_networks TEXT;
ALTER TABLE audit_events ADD COLUMN scopes TEXT;
ALTER TABLE audit_events ADD COLUMN prefixes TEXT;
ALTER TABLE audit_events ADD COLUMN allowed_networks TEXT;
-- The per-request look-up needs the limits too: the covering index takes them in.
DROP INDEX api_keys_by_hash;
CREATE INDEX api_keys_by_hash ON api_keys (key_hash, id, client, key_prefix, revoked_at, expires_at,
                                           scopes, prefixes, allowed_networks);

-- migration 6
-- Who made the change an audit event records (issue 18): the upper-case symbol of the
-- account that acted (the client itself, its provider or ADMIN) and the id of the API
-- key it acted with, if any. NULL for events no account caused (the command line and
-- fixtures, failed authentication, anonymous leaked-key reports) and for older events.
ALTER TABLE audit_events ADD COLUMN actor TEXT;
ALTER TABLE audit_events ADD COLUMN actor_key_id TEXT;

-- migration 7
-- The authentication generation: a counter the triggers below raise in the same
-- transaction as every change to what a verified API key may do (its key revoked, expired,
-- its limits or client changed, the key or its client deleted — a client deactivated, its
-- password changed). Authentication caches verified keys with the generation they were
-- read at (`auth::keycache`) and reads it again at every request: a cached key is used only
-- while nothing of the kind has been committed since. Creating a key needs no bump (it was
-- never cached), nor does recording its use.
CREATE TABLE auth_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO auth_generation (id, generation) VALUES (1, 0);
CREATE TRIGGER auth_generation_key_update
    AFTER UPDATE OF id, client, key_hash, key_prefix, revoked_at, expires_at, scopes, prefixes, allowed_networks ON api_keys
BEGIN
    UPDATE auth_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_generation_key_delete AFTER DELETE ON api_keys BEGIN
    UPDATE auth_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_generation_client_update AFTER UPDATE ON clients BEGIN
    UPDATE auth_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_generation_client_delete AFTER DELETE ON clients BEGIN
    UPDATE auth_generation SET generation = generation + 1 WHERE id = 1;
END;
-- The standard Base64 of `xml`, which every read of a DOI shows. Written by the builds between
-- this migration and issue 20's fifth pass; since then a write sets NULL (reads are served
-- rendered from memory, and the column was 15 % of a PUT's bytes). NULL: encoded on read.
ALTER TABLE dois ADD COLUMN xml_base64 TEXT;
-- Where the top-level members of `attributes` and `derived` are (`dois::members::index`),
-- so that a read splices them without scanning the text. NULL (or not fitting the text): scanned.
ALTER TABLE dois ADD COLUMN attributes_index BLOB;
ALTER TABLE dois ADD COLUMN derived_index BLOB;

-- migration 8
-- Lists, search and facets at a million DOIs (issue 21). Existing rows are indexed and
-- counted by `db::dois::backfill_search_and_counts` in this migration's transaction, with
-- progress on the console.
--
-- Every list filter has an index that also holds `updated` and the DOI (the default order
-- and its tie-break), so a page is read from an index in order, or sorted from index
-- entries alone (year ranges), never by reading and sorting whole rows.
DROP INDEX dois_client;
DROP INDEX dois_state;
DROP INDEX dois_updated;
DROP INDEX dois_state_updated;
CREATE INDEX dois_updated ON dois (updated, doi);
CREATE INDEX dois_created ON dois (created, doi, updated);
CREATE INDEX dois_state_updated ON dois (state, updated, doi);
CREATE INDEX dois_state_created ON dois (state, created, doi);
CREATE INDEX dois_client_updated ON dois (client, updated, doi);
CREATE INDEX dois_client_created ON dois (client, created, doi);
CREATE INDEX dois_prefix_updated ON dois (prefix, updated, doi);
CREATE INDEX dois_registered ON dois (registered, updated, doi);
-- These two also hold state and client, so counting a filter's DOIs that a caller may see
-- reads the index alone.
CREATE INDEX dois_resource_type ON dois (lower(json_extract(attributes, '$.types.resourceTypeGeneral')), updated, doi,
                                         state, client);
CREATE INDEX dois_published ON dois (
    substr(coalesce(json_extract(derived, '$.published'), json_extract(attributes, '$.publicationYear')), 1, 4),
    updated, doi, state, client);
-- lupo's `sort=title`: the first title as stored.
CREATE INDEX dois_title ON dois (json_extract(attributes, '$.titles[0].title'), doi);

-- How many DOIs there are per client, prefix and state, and by each facet's value: page 1
-- of a list reads `meta.total` and lupo's facets from here instead of counting a million
-- rows. `facet`: `s` state (`key` = state; its sum is the total), `t` resourceTypeGeneral,
-- `c` year created, `r` year registered, `p` publication year; `key` '' when the DOI has
-- no value. Rows that fall to 0 stay (facets skip them). Kept by the triggers below, in
-- the transaction of the write; `doi_count_keys` says what one DOI counts under, for the
-- triggers and the backfill alike.
CREATE TABLE doi_counts (
    facet  TEXT NOT NULL,
    state  TEXT NOT NULL,
    client TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key    TEXT NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (facet, state, client, prefix, key)
) WITHOUT ROWID;
CREATE VIEW doi_count_keys AS
    SELECT rowid AS id, 's' AS facet, state, client, prefix, state AS key FROM dois
    UNION ALL
    SELECT rowid, 't', state, client, prefix,
           coalesce(json_extract(attributes, '$.types.resourceTypeGeneral'), '') FROM dois
    UNION ALL
    SELECT rowid, 'c', state, client, prefix, strftime('%Y', created, 'unixepoch') FROM dois
    UNION ALL
    SELECT rowid, 'r', state, client, prefix, coalesce(strftime('%Y', registered, 'unixepoch'), '') FROM dois
    UNION ALL
    SELECT rowid, 'p', state, client, prefix,
           coalesce(substr(coalesce(json_extract(derived, '$.published'),
                                    json_extract(attributes, '$.publicationYear')), 1, 4), '') FROM dois;
CREATE TRIGGER doi_counts_insert AFTER INSERT ON dois BEGIN
    INSERT INTO doi_counts (facet, state, client, prefix, key, n)
    SELECT facet, state, client, prefix, key, 1 FROM doi_count_keys WHERE id = NEW.rowid
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER doi_counts_delete BEFORE DELETE ON dois BEGIN
    INSERT INTO doi_counts (facet, state, client, prefix, key, n)
    SELECT facet, state, client, prefix, key, -1 FROM doi_count_keys WHERE id = OLD.rowid
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER doi_counts_update_old BEFORE UPDATE OF state, client, prefix, attributes, derived, created, registered
ON dois BEGIN
    INSERT INTO doi_counts (facet, state, client, prefix, key, n)
    SELECT facet, state, client, prefix, key, -1 FROM doi_count_keys WHERE id = OLD.rowid
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER doi_counts_update_new AFTER UPDATE OF state, client, prefix, attributes, derived, created, registered
ON dois BEGIN
    INSERT INTO doi_counts (facet, state, client, prefix, key, n)
    SELECT facet, state, client, prefix, key, 1 FROM doi_count_keys WHERE id = NEW.rowid
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

-- Full-text search of `query=` over the fields lupo's `query_string` searches
-- (`Doi.query_fields`): the DOI, titles, creator names and identifiers (with affiliation
-- identifiers, for `affiliation-id`), publisher, descriptions, subjects, related
-- identifiers. Case- and accent-insensitive (unicode61, remove_diacritics 2). Contentless:
-- the text lives only in `dois` (`dois_search_rows` says what is indexed, for the triggers
-- and the backfill alike); a row's rowid is its DOI's rowid (stable: `dois` rows are only
-- ever inserted, updated in place and deleted; a `VACUUM` that renumbered them would need
-- the index rebuilt).
CREATE VIRTUAL TABLE dois_search USING fts5(
    doi, titles, creators, publisher, descriptions, subjects, related,
    content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIEW dois_search_rows AS SELECT rowid AS id, doi,
    (SELECT group_concat(value, ' ') FROM json_tree(dois.attributes, '$.titles') WHERE key = 'title') AS titles,
    (SELECT group_concat(value, ' ') FROM json_tree(dois.attributes, '$.creators')
     WHERE (key IN ('name', 'givenName', 'familyName') AND path NOT LIKE '%].%')
        OR key IN ('nameIdentifier', 'affiliationIdentifier')) AS creators,
    coalesce(json_extract(attributes, '$.publisher.name'), json_extract(attributes, '$.publisher')) AS publisher,
    (SELECT group_concat(value, ' ') FROM json_tree(dois.attributes, '$.descriptions')
     WHERE key = 'description') AS descriptions,
    (SELECT group_concat(value, ' ') FROM json_tree(dois.attributes, '$.subjects') WHERE key = 'subject') AS subjects,
    (SELECT group_concat(value, ' ') FROM json_tree(dois.attributes, '$.relatedIdentifiers')
     WHERE key = 'relatedIdentifier') AS related
    FROM dois;
-- A write's entry is made by `db::dois::index_search`, from the attributes the write holds,
-- in the write's statement sequence (`insert_as`, `update_as`): the view's `json_tree` walks,
-- one per column over the stored text, cost a `PUT /metadata` about 15 % of its throughput
-- as a trigger. A delete's entry goes here.
CREATE TRIGGER dois_search_delete AFTER DELETE ON dois BEGIN
    DELETE FROM dois_search WHERE rowid = OLD.rowid;
END;

-- What each DOI counts under, one narrow row per DOI (rowid = the DOI's rowid): facets and
-- totals of a search read these instead of the wide `dois` rows and their JSON.
CREATE TABLE doi_facet_keys (
    id            INTEGER PRIMARY KEY,
    state         TEXT NOT NULL,
    client        TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    created       TEXT,
    registered    TEXT,
    resource_type TEXT,
    published     TEXT
);
CREATE VIEW doi_facet_rows AS SELECT rowid AS id, state, client, prefix,
    strftime('%Y', created, 'unixepoch') AS created,
    strftime('%Y', registered, 'unixepoch') AS registered,
    json_extract(attributes, '$.types.resourceTypeGeneral') AS resource_type,
    substr(coalesce(json_extract(derived, '$.published'), json_extract(attributes, '$.publicationYear')), 1, 4)
        AS published
    FROM dois;
CREATE TRIGGER doi_facet_keys_insert AFTER INSERT ON dois BEGIN
    INSERT INTO doi_facet_keys SELECT * FROM doi_facet_rows WHERE id = NEW.rowid;
END;
CREATE TRIGGER doi_facet_keys_update AFTER UPDATE OF state, client, prefix, attributes, derived, created, registered
ON dois BEGIN
    INSERT OR REPLACE INTO doi_facet_keys SELECT * FROM doi_facet_rows WHERE id = NEW.rowid;
END;
CREATE TRIGGER doi_facet_keys_delete AFTER DELETE ON dois BEGIN
    DELETE FROM doi_facet_keys WHERE id = OLD.rowid;
END;

-- migration 9
-- A DOI's revision (issue 20): a number that changes with every write of the DOI or its
-- media, and that no other state of that DOI ever had, so that a rendered read cached
-- under (DOI, revision) can never be served once the DOI has changed. Revisions come from
-- `doi_generation`, which every write of a DOI raises (the triggers below, in the write's
-- transaction): a write sets `revision = generation + 1` (`db::dois`), the trigger then
-- makes that the generation. Rows written before keep 0 until their next write.
CREATE TABLE doi_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO doi_generation (id, generation) VALUES (1, 0);
ALTER TABLE dois ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
-- What a cached read checks at every request, read from the index alone (the row itself
-- is tens of KB, its end in overflow pages).
CREATE INDEX dois_revision ON dois (doi, revision, state, client, prefix);
CREATE TRIGGER doi_generation_insert AFTER INSERT ON dois BEGIN
    UPDATE doi_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER doi_generation_update AFTER UPDATE ON dois BEGIN
    UPDATE doi_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER doi_generation_delete AFTER DELETE ON dois BEGIN
    UPDATE doi_generation SET generation = generation + 1 WHERE id = 1;
END;
-- A write that did not advance the revision (an operator's UPDATE in the sqlite3 shell, an
-- INSERT without it) gets one here, so no cached read outlives it; tinydoi's own writes
-- set it (`db::dois`) and never pay for this second write of the row.
CREATE TRIGGER dois_revision_update AFTER UPDATE ON dois WHEN NEW.revision <= OLD.revision BEGIN
    UPDATE doi_generation SET generation = generation + 1 WHERE id = 1;
    UPDATE dois SET revision = (SELECT generation FROM doi_generation WHERE id = 1) WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER dois_revision_insert AFTER INSERT ON dois WHEN NEW.revision = 0 BEGIN
    UPDATE doi_generation SET generation = generation + 1 WHERE id = 1;
    UPDATE dois SET revision = (SELECT generation FROM doi_generation WHERE id = 1) WHERE rowid = NEW.rowid;
END;
-- Media are part of what a read of their DOI shows.
CREATE TRIGGER media_revision_insert AFTER INSERT ON media BEGIN
    UPDATE dois SET revision = (SELECT generation + 1 FROM doi_generation WHERE id = 1) WHERE doi = NEW.doi;
END;
CREATE TRIGGER media_revision_update AFTER UPDATE ON media BEGIN
    UPDATE dois SET revision = (SELECT generation + 1 FROM doi_generation WHERE id = 1) WHERE doi = NEW.doi;
END;
CREATE TRIGGER media_revision_delete AFTER DELETE ON media BEGIN
    UPDATE dois SET revision = (SELECT generation + 1 FROM doi_generation WHERE id = 1) WHERE doi = OLD.doi;
END;

-- migration 10
-- The upkeep of `doi_counts` and of what each DOI counts under moves from the triggers
-- of the 8th migration (which parsed the attributes with `json_extract`, twice on an update) into
-- the write functions of `db::dois` (`index_facets`, in the write's transaction, from the
-- values the write holds). What each DOI counts under becomes `doi_facets`: small
-- integers (names through `doi_facet_names`), so the facets of a search are summed into
-- arrays rather than hashed strings. Filled here from `doi_facet_keys`, which the triggers
-- kept exact until now.
DROP TRIGGER doi_counts_insert;
DROP TRIGGER doi_counts_delete;
DROP TRIGGER doi_counts_update_old;
DROP TRIGGER doi_counts_update_new;
DROP TRIGGER doi_facet_keys_insert;
DROP TRIGGER doi_facet_keys_update;
DROP TRIGGER doi_facet_keys_delete;
-- Clients, prefixes, resource types and publication years (one list: a column says which).
CREATE TABLE doi_facet_names (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
-- One row per DOI (id = the DOI's rowid). `state`: 0 draft, 1 registered, 2 findable, -1
-- deleted (the row stays, so a copy of this table in memory, `db::facet_values`, learns
-- of it); `created`/`registered`: years; the others `doi_facet_names` ids, NULL when the
-- DOI has no value. `gen`: raised past every other row's on each change (`max(gen) + 1`,
-- in the write's transaction), so such a copy reads only the rows changed since it was
-- last brought up to date.
CREATE TABLE doi_facets (
    id            INTEGER PRIMARY KEY,
    state         INTEGER NOT NULL,
    client        INTEGER NOT NULL,
    prefix        INTEGER NOT NULL,
    created       INTEGER,
    registered    INTEGER,
    resource_type INTEGER,
    published     INTEGER,
    gen           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX doi_facets_gen ON doi_facets (gen);
INSERT INTO doi_facet_names (name)
    SELECT client FROM doi_facet_keys UNION SELECT prefix FROM doi_facet_keys
    UNION SELECT resource_type FROM doi_facet_keys WHERE resource_type IS NOT NULL AND resource_type != ''
    UNION SELECT published FROM doi_facet_keys WHERE published IS NOT NULL AND published != '';
INSERT INTO doi_facets (id, state, client, prefix, created, registered, resource_type, published)
    SELECT k.id, CASE k.state WHEN 'draft' THEN 0 WHEN 'registered' THEN 1 ELSE 2 END,
           (SELECT id FROM doi_facet_names WHERE name = k.client),
           (SELECT id FROM doi_facet_names WHERE name = k.prefix),
           CAST(k.created AS INTEGER), CAST(k.registered AS INTEGER),
           (SELECT id FROM doi_facet_names WHERE name = k.resource_type),
           (SELECT id FROM doi_facet_names WHERE name = k.published)
    FROM doi_facet_keys k;
DROP TABLE doi_facet_keys;

-- migration 11
-- What the list filters, `sort=title` and facets read of a DOI's JSON, as plain columns
-- (issues 20 and 21): the expression indexes of migration 8 made SQLite parse the stored
-- attributes and derived texts with `json_extract` at every write (about 6.5 % of a new
-- DOI's `PUT /metadata`). tinydoi's writes (`db::dois::insert_as`, `update_as`) fill the
-- columns from the values they hold (`FacetKeys::of`, `first_title`: the same computation
-- as the facet upkeep, no JSON parse in SQL). `resource_type`: `types.resourceTypeGeneral`
-- as stored, NULL when missing or empty (filters compare it case-insensitively: the index
-- is `COLLATE NOCASE`, as `lower()` was, ASCII only); `published_year`: the first 4
-- characters of `derived.published`, else of `publicationYear`, NULL when empty; `title`:
-- the first title as stored (`titles[0].title`, what lupo's `sort=title` orders by).
--
-- `dois_json_columns` is the same rule over the stored JSON, for the backfill below and for
-- writes that are not tinydoi's (the triggers at the end); a test checks it agrees with Rust.
DROP INDEX dois_resource_type;
DROP INDEX dois_published;
DROP INDEX dois_title;
-- Dropped while the backfill rewrites every row (it changes no JSON, so no revision and no
-- DOI write generation: migration 9's triggers would have given each row a new revision and
-- written it twice), created again below.
DROP TRIGGER doi_generation_update;
DROP TRIGGER dois_revision_update;
DROP TRIGGER dois_revision_insert;
ALTER TABLE dois ADD COLUMN resource_type TEXT;
ALTER TABLE dois ADD COLUMN published_year TEXT;
ALTER TABLE dois ADD COLUMN title TEXT;
CREATE VIEW dois_json_columns AS SELECT rowid AS id,
    nullif(json_extract(attributes, '$.types.resourceTypeGeneral'), '') AS resource_type,
    nullif(substr(coalesce(json_extract(derived, '$.published'), json_extract(attributes, '$.publicationYear')), 1, 4),
           '') AS published_year,
    json_extract(attributes, '$.titles[0].title') AS title
    FROM dois;
-- [backfill] `db::dois::backfill_columns` fills the columns of the rows already stored here,
-- from `dois_json_columns`, with progress on the console; what follows runs after it.
CREATE INDEX dois_resource_type ON dois (resource_type COLLATE NOCASE, updated, doi, state, client);
CREATE INDEX dois_published ON dois (published_year, updated, doi, state, client);
CREATE INDEX dois_title ON dois (title, doi);
-- Migration 8's views (`db::dois::recount`) read the columns too.
DROP VIEW doi_count_keys;
CREATE VIEW doi_count_keys AS
    SELECT rowid AS id, 's' AS facet, state, client, prefix, state AS key FROM dois
    UNION ALL
    SELECT rowid, 't', state, client, prefix, coalesce(resource_type, '') FROM dois
    UNION ALL
    SELECT rowid, 'c', state, client, prefix, strftime('%Y', created, 'unixepoch') FROM dois
    UNION ALL
    SELECT rowid, 'r', state, client, prefix, coalesce(strftime('%Y', registered, 'unixepoch'), '') FROM dois
    UNION ALL
    SELECT rowid, 'p', state, client, prefix, coalesce(published_year, '') FROM dois;
DROP VIEW doi_facet_rows;
CREATE VIEW doi_facet_rows AS SELECT rowid AS id, state, client, prefix,
    strftime('%Y', created, 'unixepoch') AS created,
    strftime('%Y', registered, 'unixepoch') AS registered,
    resource_type, published_year AS published
    FROM dois;
-- Migration 9's triggers again: a write that did not advance the revision (not one of
-- tinydoi's: an operator's UPDATE or INSERT in the sqlite3 shell, a tool's own SQL) gets a
-- revision here, and now also its columns from the JSON, in the same second write of the
-- row. tinydoi's writes set both and pay for neither. (A hand edit that sets `revision`
-- itself must set the columns too.)
CREATE TRIGGER doi_generation_update AFTER UPDATE ON dois BEGIN
    UPDATE doi_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER dois_revision_update AFTER UPDATE ON dois WHEN NEW.revision <= OLD.revision BEGIN
    UPDATE doi_generation SET generation = generation + 1 WHERE id = 1;
    UPDATE dois SET revision = (SELECT generation FROM doi_generation WHERE id = 1),
        (resource_type, published_year, title) =
            (SELECT resource_type, published_year, title FROM dois_json_columns WHERE id = NEW.rowid)
    WHERE rowid = NEW.rowid;
END;
CREATE TRIGGER dois_revision_insert AFTER INSERT ON dois WHEN NEW.revision = 0 BEGIN
    UPDATE doi_generation SET generation = generation + 1 WHERE id = 1;
    UPDATE dois SET revision = (SELECT generation FROM doi_generation WHERE id = 1),
        (resource_type, published_year, title) =
            (SELECT resource_type, published_year, title FROM dois_json_columns WHERE id = NEW.rowid)
    WHERE rowid = NEW.rowid;
END;
