"""mailflow: reads the coordinators' inboxes, classifies each mail, records registrants and answers them."""
