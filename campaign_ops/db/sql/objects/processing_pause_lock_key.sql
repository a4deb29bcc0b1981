-- Key of the advisory lock between the pause and every writer (refuse_while_paused.sql): the writers take
-- it shared, `campaign-ops pause` exclusively, so nothing that passed the check before a pause commits after it.
CREATE OR REPLACE FUNCTION processing_pause_lock_key() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT hashtextextended('campaign_ops:processing_pause', 0) $$;
