-- A campaign's sequence length: the number of its messages when they are a JSON array, else NULL (unknown).
CREATE OR REPLACE FUNCTION campaign_sequence_length(p_messages jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN jsonb_typeof(p_messages) = 'array' THEN jsonb_array_length(p_messages) END $$;
