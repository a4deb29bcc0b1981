-- E.164 from what people type: '+' and digits as given; otherwise a national number of the default region (its
-- national prefix dropped, its calling code put in front; in the North American plan the leading 1 is the prefix
-- only on 11 digits). An extension is dropped. NULL when no number of 8 to 15 digits results.
-- plpgsql: an SQL function with sub-selects is not inlined and costs several times more per call (every lead
-- inserted calls it).
CREATE OR REPLACE FUNCTION phone_e164(p_raw text, p_calling_code text, p_national_prefix text) RETURNS text
-- plpgsql: an SQL function with sub-selects is not inlined and costs several times more per call (every lead
-- inserted calls it)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    d text;
    n text;
BEGIN
    d := regexp_replace(regexp_replace(p_raw, '\s*(ext\.?|extension|x|#)\s*\d+\s*$', '', 'i'), '\D', '', 'g');
    IF d IS NULL OR d = '' THEN
        RETURN NULL;
    END IF;
    IF p_raw ~ '^\s*\+' THEN
        RETURN CASE WHEN length(d) BETWEEN 8 AND 15 THEN '+' || d END;
    END IF;
    n := CASE WHEN p_national_prefix <> '' AND left(d, length(p_national_prefix)) = p_national_prefix
                   AND (p_calling_code <> '1' OR length(d) = 11)
              THEN substr(d, length(p_national_prefix) + 1) ELSE d END;
    RETURN CASE WHEN length(p_calling_code || n) BETWEEN 8 AND 15 THEN '+' || p_calling_code || n END;
END
$$;
