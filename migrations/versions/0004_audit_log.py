"""The tamper-evident audit log: records, Merkle nodes, per-fund tree state, signed heads.

- `audit_records`: one row per write, numbered from 1 per fund (the nil UUID
  is the service-wide log). `record` holds the exact bytes that are hashed
  (RFC 8785 canonical JSON), `leaf_hash` = SHA-256(0x00 || record).
- `audit_nodes`: every complete perfect subtree above the leaves (level >= 1,
  `index` counts subtrees of that level from the left). A complete subtree
  never changes, so any proof for any past tree size reads only these.
- `audit_trees`: per log, its size and frontier (the roots of the perfect
  subtrees that make up the tree, largest first) and the feed key of its last
  record. Updated under the fund's row lock.
- `audit_heads`: signed tree heads as served, kept so later heads can be
  checked against earlier ones.

`append_audit_record` appends one record in one round trip: it takes the
fund's row lock (the one `post_entry` takes) and the log's row lock, hashes
the record and the O(log n) new interior nodes, and updates the frontier.

Records, nodes and heads are append-only for every role; the service role may
only SELECT and INSERT them. All four tables carry the standard fund-scope
row-level security policy; the service-wide log (nil fund id) is in scope only
for callers who see every fund.

The change feed orders records by `feed_key`: the inserting transaction's id,
raised to the fund's previous key so that one fund's records never go
backwards; readers return only keys below the oldest running transaction, so
a record that commits late can never land behind a cursor already handed out.

Revision ID: 2026_11_23_audit_log
Revises: 2026_11_23_access_control
Create Date: 2026-11-23
"""

from service.migrate import execute_script

revision = "2026_11_23_audit_log"
down_revision = "2026_11_23_access_control"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE audit_records (
        fund_id    uuid   NOT NULL,
        sequence   bigint NOT NULL,
        action     text   NOT NULL,
        subject_id uuid,
        record     bytea  NOT NULL,
        leaf_hash  bytea  NOT NULL,
        feed_key   bigint NOT NULL,
        CONSTRAINT pk_audit_records PRIMARY KEY (fund_id, sequence),
        CONSTRAINT ck_audit_records_sequence CHECK (sequence >= 1),
        CONSTRAINT ck_audit_records_leaf_hash CHECK (length(leaf_hash) = 32)
    );
    CREATE INDEX ix_audit_records_feed_key_fund_id_sequence
        ON audit_records (feed_key, fund_id, sequence);
    CREATE INDEX ix_audit_records_fund_id_subject_id ON audit_records (fund_id, subject_id);

    CREATE TABLE audit_nodes (
        fund_id uuid     NOT NULL,
        level   smallint NOT NULL,
        index   bigint   NOT NULL,
        hash    bytea    NOT NULL,
        CONSTRAINT pk_audit_nodes PRIMARY KEY (fund_id, level, index),
        CONSTRAINT ck_audit_nodes_level CHECK (level BETWEEN 1 AND 62),
        CONSTRAINT ck_audit_nodes_hash CHECK (length(hash) = 32)
    );

    CREATE TABLE audit_trees (
        fund_id       uuid    NOT NULL,
        tree_size     bigint  NOT NULL DEFAULT 0,
        frontier      bytea[] NOT NULL DEFAULT '{}',
        last_feed_key bigint  NOT NULL DEFAULT 0,
        CONSTRAINT pk_audit_trees PRIMARY KEY (fund_id),
        CONSTRAINT ck_audit_trees_tree_size CHECK (tree_size >= 0)
    );
    INSERT INTO audit_trees (fund_id) VALUES ('00000000-0000-0000-0000-000000000000');

    CREATE TABLE audit_heads (
        fund_id   uuid   NOT NULL,
        tree_size bigint NOT NULL,
        key_id    text   NOT NULL,
        root_hash text   NOT NULL,
        timestamp text   NOT NULL,
        signature text   NOT NULL,
        CONSTRAINT pk_audit_heads PRIMARY KEY (fund_id, tree_size, key_id),
        CONSTRAINT ck_audit_heads_tree_size CHECK (tree_size >= 0)
    );

    CREATE FUNCTION append_audit_record(
        p_fund_id uuid, p_action text, p_subject_id uuid,
        p_record_head bytea, p_record_tail bytea
    ) RETURNS TABLE (audit_sequence bigint, audit_leaf_hash bytea)
    LANGUAGE plpgsql SET search_path = public AS $$
    DECLARE
        v_tree audit_trees%ROWTYPE;
        v_index bigint;
        v_level smallint := 0;
        v_record bytea;
        v_hash bytea;
        v_frontier bytea[];
        v_levels smallint[] := '{}';
        v_indexes bigint[] := '{}';
        v_hashes bytea[] := '{}';
        v_feed_key bigint;
    BEGIN
        -- Writers to one fund serialise on its row, in the order post_entry takes it.
        PERFORM 1 FROM funds WHERE id = p_fund_id FOR NO KEY UPDATE;
        SELECT * INTO v_tree FROM audit_trees WHERE fund_id = p_fund_id FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO audit_trees (fund_id) VALUES (p_fund_id);
            SELECT * INTO v_tree FROM audit_trees WHERE fund_id = p_fund_id FOR UPDATE;
        END IF;
        v_index := v_tree.tree_size;
        audit_sequence := v_index + 1;
        v_record := p_record_head || convert_to(audit_sequence::text, 'UTF8') || p_record_tail;
        audit_leaf_hash := sha256('\\x00'::bytea || v_record);
        v_hash := audit_leaf_hash;
        v_frontier := v_tree.frontier;
        -- Each trailing 1 bit of the leaf index completes one more perfect subtree.
        WHILE v_index % 2 = 1 LOOP
            v_hash := sha256('\\x01'::bytea || v_frontier[cardinality(v_frontier)] || v_hash);
            v_frontier := v_frontier[1:cardinality(v_frontier) - 1];
            v_level := v_level + 1;
            v_index := v_index / 2;
            v_levels := v_levels || v_level;
            v_indexes := v_indexes || v_index;
            v_hashes := v_hashes || v_hash;
        END LOOP;
        v_frontier := v_frontier || v_hash;
        v_feed_key := greatest(pg_current_xact_id()::text::bigint, v_tree.last_feed_key);
        INSERT INTO audit_records (fund_id, sequence, action, subject_id, record, leaf_hash,
                                   feed_key)
        VALUES (p_fund_id, audit_sequence, p_action, p_subject_id, v_record, audit_leaf_hash,
                v_feed_key);
        IF cardinality(v_levels) > 0 THEN
            INSERT INTO audit_nodes (fund_id, level, index, hash)
            SELECT p_fund_id, n.level, n.index, n.hash
              FROM unnest(v_levels, v_indexes, v_hashes) AS n(level, index, hash);
        END IF;
        UPDATE audit_trees
           SET tree_size = audit_sequence, frontier = v_frontier, last_feed_key = v_feed_key
         WHERE fund_id = p_fund_id;
        RETURN NEXT;
    END $$;

    CREATE TRIGGER trg_audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
        FOR EACH ROW EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_audit_records_no_truncate BEFORE TRUNCATE ON audit_records
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes
        FOR EACH ROW EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_audit_heads_append_only BEFORE UPDATE OR DELETE ON audit_heads
        FOR EACH ROW EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_journal_change();

    SELECT clubfund_protect_fund_table('audit_records');
    SELECT clubfund_protect_fund_table('audit_nodes');
    SELECT clubfund_protect_fund_table('audit_trees');
    SELECT clubfund_protect_fund_table('audit_heads');

    GRANT SELECT, INSERT ON audit_records, audit_nodes, audit_heads, audit_trees
        TO clubfund_app;
    GRANT UPDATE (tree_size, frontier, last_feed_key) ON audit_trees TO clubfund_app;
    GRANT EXECUTE ON FUNCTION append_audit_record(uuid, text, uuid, bytea, bytea)
        TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION append_audit_record(uuid, text, uuid, bytea, bytea);
    DROP TABLE audit_heads, audit_trees, audit_nodes, audit_records;
    """)
