-- Storyden's reports are seen only by the member who filed them, the member handling
-- them and managers, in every API (the request type's `visibility`, which workflows
-- stored before it existed lack, and which means `workspace` when absent).
update request_types
set workflow = jsonb_set(workflow::jsonb, '{visibility}', '"own"')::json
where key = 'storyden_report' and workflow::jsonb -> 'visibility' is null;
