"""sources: fetching and parsing public content. Knows nothing of schools, scoring or email."""
