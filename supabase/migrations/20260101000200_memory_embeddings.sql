-- Memory embeddings: a pgvector column searched in SQL when the extension can be created
-- (Supabase, pgvector images); otherwise float32 bytes searched by the API process.
-- No ANN index: searches are filtered to one owner first, and exact ranking over a person's
-- memories is fast; add an HNSW index on a fixed dimension when that stops being true.
do $$
declare
  ext_schema text;
begin
  if exists (select 1 from information_schema.columns
             where table_schema = current_schema() and table_name = 'memories' and column_name = 'embedding') then
    return;
  end if;
  begin
    if to_regnamespace('extensions') is not null then
      create extension if not exists vector with schema extensions;
    else
      create extension if not exists vector with schema public;
    end if;
  exception when others then
    raise notice 'pgvector unavailable (%), memory embeddings kept as bytes', sqlerrm;
  end;
  select n.nspname into ext_schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
   where e.extname = 'vector';
  if ext_schema is not null then
    execute format('alter table memories add column embedding %I.vector not null', ext_schema);
  else
    alter table memories add column embedding bytea not null;
  end if;
end
$$;
