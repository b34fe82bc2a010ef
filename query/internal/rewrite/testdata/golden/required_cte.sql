with k as (select 'a' as kind) select r.label from k join test_required r on r.kind = k.kind
