"""GUI agent: sees screenshots, finds UI elements, acts with mouse and keyboard."""

#: Actions per GUI episode unless told otherwise: a form filled field by field, with
#: suggestion lists, a calendar and a results list to scroll, takes 18-25; a task done
#: sooner ends sooner (the budget only bounds a stuck episode).
DEFAULT_MAX_STEPS = 30
