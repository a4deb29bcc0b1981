SELECT table_name, column_name
  FROM information_schema.columns
 WHERE table_schema = current_schema()
   AND table_name = ANY(CAST(:tables AS text[]))
