-- Storyden's reports are seen only by the member who filed them, the member handling
-- them and managers, in every API (the request type's `visibility`, which workflows
-- stored before it existed lack, and which means `workspace` when absent).
update request_types
set workflow = json_set(workflow, '$.visibility', 'own')
where key = 'storyden_report' and json_extract(workflow, '$.visibility') is null;
