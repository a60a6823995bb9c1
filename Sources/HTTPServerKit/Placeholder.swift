public enum _HTTPServerKitPlaceholder {}
