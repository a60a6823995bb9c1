public enum _HTTPServerTestingPlaceholder {}
